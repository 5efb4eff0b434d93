"""Two gateway replicas (two masters, two ports) sharing one real redis-server: fleet-wide limits, a shared
cache that never crosses keys, fail-open through a Redis outage, and fleet metrics."""
import json
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from conftest import GATEWAY_KEY, ManagedProcess, ask, http_json, poll_until, start_gateway

MODEL = "claude-sonnet-4-5"


@pytest.fixture
def fleet(fake_upstream, redis_server):
    settings = dict(
        REDIS_URL=redis_server.url,
        RATE_LIMIT_ENABLED="true",
        RATE_LIMIT_RPM="20",
        CACHE_ENABLED="true",
        GATEWAY_API_KEYS=f"{GATEWAY_KEY},second-key",
        # These tests count admissions exactly: a worker's unused lease would hold back up to an eighth of the key's
        # room for 100 ms (leases have their own test below), and a stall of a loaded machine longer than the
        # default 50 ms Redis timeout would let a request through unlimited (fail open, tested on its own).
        RATE_LIMIT_LEASE="0",
        REDIS_TIMEOUT_MS="2000",
    )
    a = start_gateway(fake_upstream.port, INSTANCE_ID="replica-a", **settings)
    b = start_gateway(fake_upstream.port, INSTANCE_ID="replica-b", **settings)
    yield a, b
    a.stop()
    b.stop()


def test_rate_limit_is_fleet_wide(fleet):
    a, b = fleet
    statuses = []
    limited = None
    for i in range(40):
        status, headers, body = ask(a if i % 2 == 0 else b, content=f"q{i}")
        statuses.append(status)
        if status == 429:
            limited = (headers, body)
    admitted = statuses.count(200)
    # 20 per minute across both replicas; GCRA refills one request every 3 s, so a slow run may admit one more.
    assert 20 <= admitted <= 21, statuses
    assert statuses.count(429) == 40 - admitted
    headers, body = limited
    headers = {k.lower(): v for k, v in headers.items()}
    assert int(headers["retry-after"]) >= 1
    assert headers["anthropic-ratelimit-requests-limit"] == "20"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert body["error"]["type"] == "rate_limit_error"


def test_a_concurrent_burst_is_decided_request_by_request(fleet):
    """Requests arriving together on one worker loop are decided in one script call per key; each must still get its
    own decision: exactly the limit admitted, and every admitted request a different remaining count."""
    a, b = fleet
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda i: ask(a if i % 2 == 0 else b, content=f"burst {i}"), range(32)))
    admitted = [headers for status, headers, _ in answers if status == 200]
    # 20 per minute across both replicas; GCRA refills one request every 3 s, so a slow run may admit one more.
    assert 20 <= len(admitted) <= 21, [status for status, _, _ in answers]
    assert all(status in (200, 429) for status, _, _ in answers)
    remaining = sorted(int({k.lower(): v for k, v in h.items()}["anthropic-ratelimit-requests-remaining"])
                       for h in admitted)
    # 19 down to 0, each once (a refill during a slow run may repeat one).
    assert set(remaining) == set(range(20)), remaining


def ask_until_cached(gateway, content, **options):
    """Asks `content` (with `ask`'s `options`) again until the answer comes from the cache, or 5 s have passed;
    returns the last answer.

    A cache store leaves with its worker's next write to Redis or within 1 ms (a command that can wait), so a request
    that reaches another worker or replica sooner than that may still miss: the answer must be there a moment later.
    """
    def asked():
        status, headers, body = ask(gateway, content, temperature=0, **options)
        return status, {k.lower(): v for k, v in headers.items()}, body

    return poll_until(asked, lambda answer: answer[1].get("x-gateway-cache") != "MISS", seconds=5, interval=0.01)


def test_cache_is_shared_by_replicas_and_scoped_to_keys(fleet, fake_upstream):
    a, b = fleet
    status, headers, first = ask(a, "deterministic question", temperature=0)
    assert status == 200 and headers["x-gateway-cache"] == "MISS"
    status, headers, second = ask_until_cached(b, "deterministic question")
    assert status == 200 and headers["x-gateway-cache"] == "HIT"
    assert second["content"] == first["content"]
    assert second["id"] != first["id"]
    status, headers, _ = ask(b, "deterministic question", key="second-key", temperature=0)
    assert headers["x-gateway-cache"] == "MISS", "a cached answer never crosses API keys"
    client = anthropic.Anthropic(base_url=b.url, api_key=GATEWAY_KEY, max_retries=0)
    # A streamed request hitting the cache gets a synthesised stream the official SDK parses.
    with client.messages.stream(
        model=MODEL, max_tokens=50, extra_body={"temperature": 0},
        messages=[{"role": "user", "content": "deterministic question"}],
    ) as stream:
        final = stream.get_final_message()
    assert [block.text for block in final.content] == [block["text"] for block in first["content"]]


def test_a_replica_on_the_unix_socket_shares_limits_and_cache(fake_upstream, redis_server):
    """REDIS_URL=unix:///path/redis.sock (a Redis on the same machine): the replica speaks to the same server as one on
    TCP, so the two share one rate limit and the cache."""
    settings = dict(RATE_LIMIT_ENABLED="true", RATE_LIMIT_RPM="6", CACHE_ENABLED="true", RATE_LIMIT_LEASE="0",
                    REDIS_TIMEOUT_MS="2000", GATEWAY_API_KEYS=f"{GATEWAY_KEY},second-key")
    tcp = start_gateway(fake_upstream.port, INSTANCE_ID="over-tcp", REDIS_URL=redis_server.url, **settings)
    local = None
    try:
        local = start_gateway(fake_upstream.port, INSTANCE_ID="over-socket", REDIS_URL=redis_server.socket_url,
                              **settings)
        health = poll_until(lambda: http_json(f"http://127.0.0.1:{local.admin_port}/health")[2],
                            lambda h: h["redis"] == "up", seconds=10)
        assert health["redis"] == "up" and health["status"] == "ok"
        # 6 a minute for the key across both replicas (GCRA refills one every 10 s: a slow run may admit one more).
        statuses = [ask(local if i % 2 else tcp, content=f"q{i}")[0] for i in range(10)]
        assert statuses.count(200) in (6, 7) and statuses.count(429) == 10 - statuses.count(200), statuses

        status, headers, first = ask(tcp, "asked over tcp", key="second-key", temperature=0)
        assert status == 200 and headers["x-gateway-cache"] == "MISS"

        status, headers, second = ask_until_cached(local, "asked over tcp", key="second-key")
        assert status == 200 and headers["x-gateway-cache"] == "HIT"
        assert second["content"] == first["content"]
    finally:
        tcp.stop()
        if local is not None:
            local.stop()


def test_redis_outage_fails_open_and_recovers(fake_upstream, redis_server):
    gateway = start_gateway(
        fake_upstream.port, REDIS_URL=redis_server.url, RATE_LIMIT_ENABLED="true", RATE_LIMIT_RPM="1000",
        CACHE_ENABLED="true", REDIS_TIMEOUT_MS="50",
    )
    try:
        assert ask(gateway)[0] == 200
        port = redis_server.port
        redis_server.stop()
        for i in range(10):
            status, _, _ = ask(gateway, f"during outage {i}", temperature=0)
            assert status == 200, "requests keep succeeding while Redis is down (fail open)"

        def health():
            return http_json(f"http://127.0.0.1:{gateway.admin_port}/health")[2]

        health_now = poll_until(health, lambda h: h["redis"] == "down")
        assert health_now["redis"] == "down" and health_now["status"] == "degraded"
        _, _, metrics = http_json(f"http://127.0.0.1:{gateway.admin_port}/metrics")
        assert "cerebras_gateway_redis_errors_total" in metrics
        assert "cerebras_gateway_redis_up 0" in metrics
        # Redis comes back on the same port: the gateway reconnects by itself.
        restarted = ManagedProcess(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )
        try:
            assert poll_until(health, lambda h: h["redis"] == "up", seconds=15)["redis"] == "up"
            # /health shows the master's connection; each worker reconnects on its own backoff (up to 2 s), and a
            # request on a worker still down fails open, without limit headers.
            status, headers, _ = poll_until(
                lambda: ask(gateway, "after recovery"),
                lambda answer: "anthropic-ratelimit-requests-limit" in {k.lower() for k in answer[1]})
            assert status == 200 and "anthropic-ratelimit-requests-limit" in {k.lower() for k in headers}
        finally:
            restarted.stop()
    finally:
        gateway.stop()


def test_fleet_metrics_equal_the_sum_of_node_metrics(fleet):
    a, b = fleet
    for i in range(3):
        assert ask(a, f"a{i}")[0] == 200
    for i in range(5):
        assert ask(b, f"b{i}")[0] == 200

    def scrape(gateway):
        return http_json(f"http://127.0.0.1:{gateway.admin_port}/metrics")[2]

    def value(text, prefix):
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))

    node = 'cerebras_gateway_requests_total{model="zai-glm-4.7",route="messages",status="2xx",stream="false"}'
    fleet_series = node.replace("cerebras_gateway_", "cerebras_gateway_fleet_")
    text_a, text_b = poll_until(
        lambda: (scrape(a), scrape(b)),
        lambda texts: value(texts[0], node) + value(texts[1], node) == 8
        and all(value(text, fleet_series) == 8 for text in texts),
        seconds=20, interval=0.5)
    assert value(text_a, node) == 3 and value(text_b, node) == 5
    assert value(text_a, fleet_series) == 8 and value(text_b, fleet_series) == 8
    assert "cerebras_gateway_fleet_instances 2" in text_a


def redis_command(port, command):
    """One inline command to the test's redis-server; returns the first reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(command.encode() + b"\r\n")
        return connection.recv(256).split(b"\r\n")[0]


def test_admission_survives_redis_losing_its_scripts(fleet, redis_server):
    """A cacheable request asks the limiter and the cache in one pipelined round trip; after SCRIPT FLUSH the
    limiter's EVALSHA answers NOSCRIPT there, and the gateway must reload the script and still decide (a request
    let through on fail-open would carry no rate-limit headers)."""
    a, _ = fleet
    assert redis_command(redis_server.port, "SCRIPT FLUSH") == b"+OK"
    status, headers, _ = ask(a, "asked after a script flush", temperature=0)
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 200 and headers["x-gateway-cache"] == "MISS"
    assert headers["anthropic-ratelimit-requests-limit"] == "20"
    first_remaining = int(headers["anthropic-ratelimit-requests-remaining"])
    status, headers, _ = ask_until_cached(a, "asked after a script flush")
    assert status == 200 and headers["x-gateway-cache"] == "HIT"
    assert int(headers["anthropic-ratelimit-requests-remaining"]) < first_remaining, "a cache hit is still counted"


def evalsha_calls(redis_server):
    """Script calls redis-server has run so far (`INFO commandstats`)."""
    info = subprocess.run(["redis-cli", "-p", str(redis_server.port), "INFO", "commandstats"],
                          capture_output=True, text=True, check=True).stdout
    for line in info.splitlines():
        if line.startswith("cmdstat_evalsha:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def leased_total(gateway):
    """The node's `cerebras_gateway_rate_limit_leased_total`, or None while absent."""
    _, _, metrics = http_json(f"http://127.0.0.1:{gateway.admin_port}/metrics")
    for line in metrics.splitlines():
        if line.startswith("cerebras_gateway_rate_limit_leased_total "):
            return float(line.split()[1])
    return None


@pytest.mark.parametrize("control", ["redis", "embedded"])
@pytest.mark.parametrize("lease", ["64", "0"])
def test_a_busy_key_is_admitted_from_leases(fake_upstream, redis_server, control, lease):
    """A key asking often takes leases of its allowance, from Redis or (without Redis) from the master: most of its
    requests are admitted, and their token corrections settled, without a round trip of their own; every answer still
    carries its limit headers. With RATE_LIMIT_LEASE=0 every request is decided by the keeper (with Redis, a loop
    round's requests share a script call) and corrected by another call."""
    settings = dict(RATE_LIMIT_ENABLED="true", RATE_LIMIT_RPM="100000", RATE_LIMIT_TPM="100000000",
                    RATE_LIMIT_LEASE=lease, REDIS_TIMEOUT_MS="2000")
    if control == "redis":
        settings["REDIS_URL"] = redis_server.url
    gateway = start_gateway(fake_upstream.port, **settings)
    try:
        before = evalsha_calls(redis_server)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: ask(gateway, f"busy {i}"), range(400)))
        calls = evalsha_calls(redis_server) - before
        assert [status for status, _, _ in answers] == [200] * 400
        for _, headers, _ in answers:
            headers = {k.lower(): v for k, v in headers.items()}
            assert headers["anthropic-ratelimit-requests-limit"] == "100000"
            assert 99_000 <= int(headers["anthropic-ratelimit-requests-remaining"]) < 100_000
            assert int(headers["anthropic-ratelimit-tokens-remaining"]) < 100_000_000
        # Workers report their counters every second.
        if lease == "0":
            time.sleep(2.5)
            assert leased_total(gateway) is None
            assert calls >= 400 if control == "redis" else calls == 0
        else:
            leased = poll_until(lambda: leased_total(gateway), lambda total: (total or 0) >= 200, seconds=5)
            # A lease lasts 100 ms, so a slow run takes more of them: the bounds leave room for that and still fail
            # without leases (none admitted from one, a script call for every request).
            assert leased >= 200, f"only {leased} of 400 requests admitted from leases"
            assert calls < 200 if control == "redis" else calls == 0
    finally:
        gateway.stop()
