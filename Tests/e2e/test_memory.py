"""Memory stays flat under repeated requests: nothing is retained per request (a regression test for a leak of
every upstream exchange, ~13 KiB each, found by the benchmark suite)."""
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import GATEWAY_KEY, http_json, poll_until, start_gateway, worker_pids


def worker_rss_kib(master_pid):
    total = 0
    for pid in worker_pids(master_pid):
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def messages_request(stream=False, content="hello"):
    """The bytes of one small `POST /v1/messages`."""
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 20, "stream": stream,
                       "messages": [{"role": "user", "content": content}]}).encode()
    return (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {GATEWAY_KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body


def keep_alive_requests(port, count, stream=False):
    request = messages_request(stream)
    marker = b"message_stop" if stream else b"end_turn"
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _ in range(count):
            connection.sendall(request)
            received = b""
            while marker not in received or (stream and not received.endswith(b"0\r\n\r\n")):
                chunk = connection.recv(65536)
                assert chunk, "connection closed"
                received += chunk


def test_worker_memory_is_flat_across_thousands_of_requests(fake_upstream):
    gateway = start_gateway(fake_upstream.port, WORKERS="1", LOG_LEVEL="warning")
    try:
        keep_alive_requests(gateway.port, 500)  # warm-up: allocator pools, connection caches
        before = worker_rss_kib(gateway.pid)
        keep_alive_requests(gateway.port, 4000)
        keep_alive_requests(gateway.port, 400, stream=True)
        growth = worker_rss_kib(gateway.pid) - before
        # A leak of one exchange per request would add ~50 MiB here.
        assert growth < 12 * 1024, f"worker RSS grew by {growth} KiB"
    finally:
        gateway.stop()


def environment_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as environ:
        return dict(entry.decode().split("=", 1) for entry in environ.read().split(b"\0") if entry)


def test_workers_start_with_more_room_in_the_allocators_per_thread_cache(fake_upstream):
    """The master starts its workers with GLIBC_TUNABLES=glibc.malloc.tcache_count=64 (BENCHMARKS.md, "Twenty-seventh
    round"); a value of the operator's, an empty one included, is passed on instead."""
    expected = os.environ.get("GLIBC_TUNABLES", "glibc.malloc.tcache_count=64")
    for settings, wanted in [({}, expected), ({"GLIBC_TUNABLES": ""}, "")]:
        gateway = start_gateway(fake_upstream.port, LOG_LEVEL="warning", **settings)
        try:
            workers = worker_pids(gateway.pid)
            assert len(workers) == 2
            for pid in workers:
                assert environment_of(pid).get("GLIBC_TUNABLES") == wanted, settings
            keep_alive_requests(gateway.port, 50)
        finally:
            gateway.stop()


def released_memory(gateway):
    """The workers' "idle memory released" log lines, parsed."""
    return [json.loads(line) for line in gateway.logs().splitlines() if '"idle memory released"' in line]


def open_streams(port, count, scenario):
    """`count` streaming requests at once, each on its own connection, read to their end."""
    request = messages_request(stream=True, content=f"burst [[scenario:{scenario}]]")

    def one(_):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
            connection.sendall(request)
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                chunk = connection.recv(65536)
                assert chunk, "connection closed"
                received += chunk
            assert b"message_stop" in received

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(one, range(count)))


def test_a_worker_gives_back_the_memory_a_burst_freed_once_it_is_quiet(fake_upstream):
    gateway = start_gateway(fake_upstream.port, WORKERS="1", LOG_LEVEL="info", IDLE_MEMORY_RELEASE_SECONDS="1")
    try:
        time.sleep(1.5)
        assert released_memory(gateway) == [], "a worker that has served nothing has nothing to give back"
        open_streams(gateway.port, 300, "paced;chunks=10;interval_ms=50")
        lines = poll_until(lambda: released_memory(gateway), lambda found: found, seconds=10)
        assert len(lines) == 1, lines
        assert 0 < lines[0]["rss_after_kib"] < lines[0]["rss_before_kib"], lines[0]

        # Health checks and token counts are no upstream work: they neither delay nor trigger another release.
        deadline = time.time() + 3
        while time.time() < deadline:
            assert http_json(f"{gateway.url}/health")[0] == 200
            assert http_json(f"{gateway.url}/v1/messages/count_tokens", method="POST",
                             body={"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
                             headers={"x-api-key": GATEWAY_KEY})[0] == 200
            time.sleep(0.1)
        assert len(released_memory(gateway)) == 1

        # Served again, quiet again: released again.
        keep_alive_requests(gateway.port, 20)
        lines = poll_until(lambda: released_memory(gateway), lambda found: len(found) > 1, seconds=10)
        assert len(lines) == 2, lines
    finally:
        gateway.stop()


def test_no_release_when_turned_off(fake_upstream):
    gateway = start_gateway(fake_upstream.port, WORKERS="1", LOG_LEVEL="info", IDLE_MEMORY_RELEASE_SECONDS="0")
    try:
        keep_alive_requests(gateway.port, 20)
        time.sleep(2)
        assert released_memory(gateway) == []
    finally:
        gateway.stop()
