"""Process-level faults through the real binary: descriptor exhaustion and recovery."""
import resource
import socket
import time

from conftest import GATEWAY_KEY, http_json, start_gateway


def low_descriptor_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))


def test_descriptor_exhaustion_queues_then_recovers(fake_upstream):
    gateway = start_gateway(fake_upstream.port, preexec_fn=low_descriptor_limit, WORKERS="1")
    held = []
    try:
        # More idle connections than the worker has descriptors: the excess waits in the kernel's accept queue.
        for _ in range(150):
            held.append(socket.create_connection(("127.0.0.1", gateway.port), timeout=5))
        time.sleep(0.5)
        assert gateway.proc.poll() is None, "the gateway survives running out of descriptors"
        for connection in held:
            connection.close()
        held.clear()
        # Once load drops, it serves again without a restart.
        deadline = time.time() + 15
        status = None
        while time.time() < deadline:
            try:
                status, _, _ = http_json(
                    f"{gateway.url}/v1/messages", "POST",
                    {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
                    {"x-api-key": GATEWAY_KEY}, timeout=5,
                )
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert status == 200
        assert http_json(f"http://127.0.0.1:{gateway.admin_port}/health")[0] == 200
    finally:
        for connection in held:
            connection.close()
        gateway.stop()
