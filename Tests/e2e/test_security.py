"""Keys never leak: not into logs, metrics, Redis or response headers; metric labels stay bounded."""
import socket

from conftest import GATEWAY_KEY, http_json, poll_until, start_gateway

PASSTHROUGH_KEY = "csk-client-secret-0123456789"


def redis_dump(port):
    """Every key and string value in the Redis database, as raw bytes."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        def command(*args):
            payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
            s.sendall(payload.encode())
            return s.recv(1 << 20)

        keys = command("KEYS", "*")
        values = b""
        for line in keys.split(b"\r\n"):
            if line and not line.startswith((b"*", b"$")):
                values += command("DUMP", line.decode())
        return keys + values


def test_keys_never_appear_in_logs_metrics_redis_or_headers(fake_upstream, redis_server):
    gateway = start_gateway(
        fake_upstream.port, REDIS_URL=redis_server.url, RATE_LIMIT_ENABLED="true", CACHE_ENABLED="true",
        PASSTHROUGH_KEYS="true", LOG_LEVEL="trace",
    )
    try:
        seen_headers = []
        for key in (GATEWAY_KEY, PASSTHROUGH_KEY):
            for temperature in (0, 0.7):
                body = {"model": "claude-sonnet-4-5", "max_tokens": 20, "temperature": temperature,
                        "messages": [{"role": "user", "content": "secret prompt text 4242"}]}
                status, headers, _ = http_json(f"{gateway.url}/v1/messages", "POST", body, {"x-api-key": key})
                assert status == 200
                seen_headers.append(headers)
        # An error path too: the upstream refuses the key.
        http_json(f"{gateway.url}/v1/messages", "POST", {"model": "x"}, {"authorization": f"Bearer {PASSTHROUGH_KEY}"})
        _, _, metrics = http_json(f"http://127.0.0.1:{gateway.admin_port}/metrics")
        gateway.stop()
        logs = gateway.logs()
        assert '"request.id"' in logs, "the request log lines are there"
        stored = redis_dump(redis_server.port)
        for secret in (GATEWAY_KEY, PASSTHROUGH_KEY, "csk-e2e-upstream"):
            assert secret not in logs
            assert secret not in metrics
            assert secret.encode() not in stored
            for headers in seen_headers:
                assert all(secret not in value for value in headers.values())
        assert "secret prompt text 4242" not in logs, "prompt text is never logged by default"
    finally:
        gateway.stop()


def test_metric_labels_stay_bounded_whatever_clients_send(gateway):
    for i in range(30):
        body = {"model": f"claude-made-up-{i}", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        http_json(f"{gateway.url}/v1/messages", "POST", body, {"x-api-key": GATEWAY_KEY})
        http_json(f"{gateway.url}/nothing/{i}")

    def messages_counted(metrics):
        return sum(float(line.split()[-1]) for line in metrics.splitlines()
                   if line.startswith("cerebras_gateway_requests_total") and 'route="messages"' in line)

    # Heartbeats (every second) carry the workers' counters to the master: wait until the 30 requests are counted.
    metrics = poll_until(lambda: http_json(f"http://127.0.0.1:{gateway.admin_port}/metrics")[2],
                         lambda text: messages_counted(text) >= 30)
    assert messages_counted(metrics) >= 30, metrics
    series = [line for line in metrics.splitlines() if line.startswith("cerebras_gateway_requests_total")]
    assert not any("made-up" in line or "nothing" in line for line in metrics.splitlines())
    assert len(series) < 10
