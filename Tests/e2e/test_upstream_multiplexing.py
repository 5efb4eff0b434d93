"""How a burst of new requests reaches the upstream. By default each request has an HTTP/1.1 upstream connection of
its own; with UPSTREAM_STREAMS_PER_CONNECTION above 1 and an HTTPS upstream that accepts HTTP/2, the burst shares the
first connection (one TLS handshake, not one each); over plain HTTP every request still leaves at once."""
import http.client
import json
import sys
import threading
from pathlib import Path

import pytest

from conftest import (GATEWAY_KEY, ManagedProcess, ask, http_json, poll_until, read_text_stream, scratch_directory,
                      start_gateway)
from test_tls_upstream import expected, start_tls_upstream

TEST_UPSTREAM = Path(__file__).resolve().parent / "h2_upstream.py"
BURST = 20
TOKENS = 5


def run_together(count, request, prepare=lambda index: None):
    """Runs `request(index, prepare(index))` on `count` threads, all released at once once every `prepare` is done;
    returns the results in order (an exception for a failure)."""
    results = [None] * count
    start = threading.Barrier(count)

    def run(index):
        try:
            prepared = prepare(index)
            start.wait()
            results[index] = request(index, prepared)
        except Exception as error:  # reported by the caller's assertion, with the others' results
            start.abort()  # the others are not held at the barrier for a request that will not start
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def streamed_text(connection, index):
    """Sends a streaming request on an open connection; returns the text of its answer and the stop reason."""
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True,
                       "messages": [{"role": "user", "content": f"burst {index}"}]})
    connection.request("POST", "/v1/messages", body=body,
                       headers={"x-api-key": GATEWAY_KEY, "content-type": "application/json"})
    response = connection.getresponse()
    text, _, stop_reason = read_text_stream(response)
    connection.close()
    return response.status, text, stop_reason


def burst_of_streams(gateway, count):
    """`count` streaming requests on connections opened beforehand, sent at once; their `streamed_text` results."""
    def connect(_):
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        connection.connect()
        return connection

    return run_together(count, lambda index, connection: streamed_text(connection, index), prepare=connect)


def start_test_upstream_and_gateway(**settings):
    """The TLS test upstream that speaks HTTP/2 or HTTP/1.1 (streams held 1.5 s), the path of its statistics file,
    and a gateway with one worker (one event loop: one upstream client) in front of it, which does not check the
    upstream's certificate unless `settings` say so."""
    settings = {"UPSTREAM_VERIFY_TLS": "false", **settings}
    stats_path = scratch_directory("cgw-h2-") / "stats.json"
    upstream = ManagedProcess([sys.executable, str(TEST_UPSTREAM), str(TOKENS), "1500", str(stats_path)],
                              ready_prefix="LISTENING")
    upstream_port = int(upstream.first_line.split()[1])
    try:
        gateway = start_gateway(upstream_port, CEREBRAS_BASE_URL=f"https://127.0.0.1:{upstream_port}/v1",
                                WORKERS="1", **settings)
    except Exception:
        upstream.stop()
        raise
    return upstream, stats_path, gateway


def stats_once_completed(stats_path, completed):
    """The test upstream's statistics once it has counted `completed` streams answered in full, or as they stand after
    5 s. It counts a stream after writing the stream's last bytes, so a client can read the end of its answer (and the
    test go on) a moment before the count is in the file."""
    return poll_until(lambda: json.loads(stats_path.read_text()), lambda stats: stats["completed"] == completed,
                      seconds=5, interval=0.05)


def burst_over_tls(**settings):
    """A burst of BURST streams through one worker to the TLS test upstream; the upstream's statistics afterwards."""
    upstream, stats_path, gateway = start_test_upstream_and_gateway(**settings)
    try:
        # Connected first and sent together, so the requests reach the worker before the first upstream
        # connection has finished its TLS handshake.
        results = burst_of_streams(gateway, BURST)
        assert results == [(200, expected(TOKENS), "end_turn")] * BURST
        stats = stats_once_completed(stats_path, BURST)
        # The upstream holds each stream 1.5 s before its tokens, so the burst was open at once.
        assert stats["peak_streams"] == BURST
        assert stats["completed"] == BURST
        return stats
    finally:
        gateway.stop()
        upstream.stop()


def test_by_default_each_stream_has_an_http1_connection_of_its_own():
    # The upstream accepts HTTP/2, but with nothing to share HTTP/2 only costs more: the gateway does not offer it.
    stats = burst_over_tls()
    assert (stats["connections"], stats["protocols"]) == (BURST, {"http/1.1": BURST}), stats


def test_new_upstream_connections_resume_the_tls_session_of_an_earlier_one():
    # The first stream's connection makes a full TLS handshake. The burst after it needs more upstream connections,
    # made by easy handles the worker creates for it, which have never connected: they resume the loop's TLS session
    # (the handles share their sessions) instead of a full handshake each. Not every one over TLS 1.3: OpenSSL marks
    # a TLS 1.3 session it has resumed once as spent, and libcurl 7.88 keeps one session per host, replaced when the
    # next ticket is read, so a connection that starts in between makes a full handshake (BENCHMARKS.md,
    # "Thirty-fifth round"). Handles with sessions of their own resumed none: the starting build's count was 0.
    upstream, stats_path, gateway = start_test_upstream_and_gateway()
    try:
        assert burst_of_streams(gateway, 1) == [(200, expected(TOKENS), "end_turn")]
        assert burst_of_streams(gateway, BURST) == [(200, expected(TOKENS), "end_turn")] * BURST
        stats = json.loads(stats_path.read_text())
        assert stats["connections"] >= BURST, stats
        assert stats["resumed"] >= 1, stats
    finally:
        gateway.stop()
        upstream.stop()


@pytest.mark.parametrize("streams_per_connection, protocol", [("1", "http/1.1"), ("100", "h2")])
def test_a_stream_the_client_leaves_ends_upstream_at_once(streams_per_connection, protocol):
    # The upstream bills every token it generates. Over HTTP/1.1 curl closes the connection of a transfer removed
    # before its end; libcurl 7.88 queues an HTTP/2 stream's reset until its connection is used again, so the gateway
    # closes the connection of a stream the client leaves (none other shares it here).
    upstream, stats_path, gateway = start_test_upstream_and_gateway(
        UPSTREAM_STREAMS_PER_CONNECTION=streams_per_connection)
    try:
        leaving = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True,
                           "messages": [{"role": "user", "content": "left"}]})
        leaving.request("POST", "/v1/messages", body=body,
                        headers={"x-api-key": GATEWAY_KEY, "content-type": "application/json"})
        poll_until(lambda: json.loads(stats_path.read_text())["peak_streams"], lambda peak: peak == 1, seconds=5,
                   interval=0.05)
        leaving.close()  # while the upstream holds the stream, 1.5 s
        # Left before the hold ends: the stream is reset or its connection closed, and the upstream sends nothing.
        stats = poll_until(lambda: json.loads(stats_path.read_text()), lambda s: s["abandoned"] or s["completed"],
                           seconds=5, interval=0.05)
        assert stats["abandoned"] == 1 and stats["completed"] == 0, stats

        # The next request is answered in full, on a new connection.
        assert burst_of_streams(gateway, 1) == [(200, expected(TOKENS), "end_turn")]
        stats = stats_once_completed(stats_path, 1)
        assert (stats["completed"], stats["abandoned"], stats["connections"]) == (1, 1, 2), stats
        assert stats["protocols"] == {protocol: 2}, stats
    finally:
        gateway.stop()
        upstream.stop()


def test_a_burst_of_streams_shares_one_http2_connection_when_streams_may_share():
    # Without waiting for the first handshake, the requests that arrive during it open connections of their own.
    stats = burst_over_tls(UPSTREAM_STREAMS_PER_CONNECTION="100")
    assert (stats["connections"], stats["protocols"]) == (1, {"h2": 1}), stats


def test_a_burst_to_a_plain_http_upstream_is_not_held_behind_the_first_answer(fake_upstream):
    # Over plain HTTP curl would learn that the upstream cannot multiplex only from the first answer's head; a
    # request waiting to share a connection would wait until then. Every request of the burst must reach the
    # upstream while the first is still waiting for its head (each is held 6 s before it).
    gateway = start_gateway(fake_upstream.port, WORKERS="1", UPSTREAM_STREAMS_PER_CONNECTION="100")
    stats_url = f"http://127.0.0.1:{fake_upstream.port}/fake/stats"
    try:
        def stream(index, _):
            return ask(gateway, content=f"burst {index} [[scenario:slow_first;delay_ms=6000]]", stream=True)[0]

        burst = 8
        results = []
        runner = threading.Thread(target=lambda: results.extend(run_together(burst, stream)))
        runner.start()
        try:
            peak = poll_until(lambda: http_json(stats_url)[2]["active"], lambda active: active == burst, seconds=5.5,
                              interval=0.05)
            assert peak == burst, f"only {peak} of {burst} requests reached the upstream before the first answer"
        finally:
            runner.join(timeout=60)
        assert results == [200] * burst
    finally:
        gateway.stop()


def test_a_burst_to_an_https_upstream_without_http2_opens_a_connection_each():
    # The waiting requests learn from the first handshake that the upstream offers no HTTP/2, then each opens its
    # own connection: every one is answered in full.
    upstream = start_tls_upstream(TOKENS)
    gateway = start_gateway(upstream.port, CEREBRAS_BASE_URL=f"https://127.0.0.1:{upstream.port}/v1",
                            UPSTREAM_VERIFY_TLS="false", WORKERS="1", UPSTREAM_STREAMS_PER_CONNECTION="100")
    try:
        results = burst_of_streams(gateway, 8)
        assert results == [(200, expected(TOKENS), "end_turn")] * 8
    finally:
        gateway.stop()
        upstream.stop()
