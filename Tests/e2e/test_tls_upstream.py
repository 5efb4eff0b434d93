"""The upstream over HTTPS, as Cerebras is reached in production: libcurl's TLS under the gateway's event-driven
upstream client (epoll + curl_multi_socket_action), with the official SDK as the client."""
import http.client
import json
import socket
import sys
from pathlib import Path

import anthropic
import pytest

from conftest import GATEWAY_KEY, ManagedProcess, read_text_stream, start_gateway

TLS_UPSTREAM = Path(__file__).resolve().parent / "tls_upstream.py"


def start_tls_upstream(tokens: int) -> ManagedProcess:
    proc = ManagedProcess([sys.executable, str(TLS_UPSTREAM), str(tokens)], ready_prefix="LISTENING")
    proc.port = int(proc.first_line.split()[1])
    return proc


def start_https_gateway(upstream: ManagedProcess, **settings) -> ManagedProcess:
    return start_gateway(upstream.port, CEREBRAS_BASE_URL=f"https://127.0.0.1:{upstream.port}/v1", **settings)


@pytest.fixture
def tls_upstream():
    proc = start_tls_upstream(200)
    yield proc
    proc.stop()


def expected(tokens: int) -> str:
    return "".join(f"tok{i} " for i in range(tokens))


def test_sdk_create_and_stream_over_an_https_upstream(tls_upstream):
    gateway = start_https_gateway(tls_upstream, UPSTREAM_VERIFY_TLS="false")
    try:
        client = anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=30)
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=300,
                                          messages=[{"role": "user", "content": "Hi"}])
        assert message.content[0].text == expected(200)
        assert message.usage.output_tokens == 200
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=300,
                                    messages=[{"role": "user", "content": "Hi"}]) as stream:
            assert "".join(stream.text_stream) == expected(200)
            assert stream.get_final_message().stop_reason == "end_turn"
    finally:
        gateway.stop()


def test_a_request_larger_than_curls_upload_buffer_reaches_an_https_upstream_whole(tls_upstream):
    # Over HTTPS with HTTP/1.1 (the default) curl sends a body through a 64 KiB upload buffer, in several TLS writes
    # that may each be partial; the upstream parses the whole JSON body or fails the request.
    gateway = start_https_gateway(tls_upstream, UPSTREAM_VERIFY_TLS="false", UPSTREAM_MAX_RETRIES="0")
    try:
        client = anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=30)
        long_text = " ".join(f"word{index}" for index in range(40_000))  # 388,889 bytes
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=300,
                                          messages=[{"role": "user", "content": long_text}])
        assert message.content[0].text == expected(200)
    finally:
        gateway.stop()


def test_a_slow_reader_over_https_gets_every_token_in_order():
    # ~1.2 MB of client SSE read through a small receive window: the gateway's writes back up, and its backpressure
    # may pause and resume the TLS transfer (curl can hold decrypted bytes while paused). Every token must arrive
    # once, in order.
    tokens = 10_000
    upstream = start_tls_upstream(tokens)
    gateway = start_https_gateway(upstream, UPSTREAM_VERIFY_TLS="false", WORKERS="1")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=60)
        connection.connect()
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 300, "stream": True,
                           "messages": [{"role": "user", "content": "Hi"}]})
        connection.request("POST", "/v1/messages", body=body,
                           headers={"x-api-key": GATEWAY_KEY, "content-type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        text, last_event, _ = read_text_stream(response)
        assert last_event == "message_stop"
        assert text == expected(tokens)
    finally:
        gateway.stop()
        upstream.stop()


def test_an_untrusted_upstream_certificate_is_refused_with_a_clear_error(tls_upstream):
    # UPSTREAM_VERIFY_TLS defaults to true: the self-signed test certificate must not be accepted.
    gateway = start_https_gateway(tls_upstream, UPSTREAM_MAX_RETRIES="0")
    try:
        client = anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=30)
        with pytest.raises(anthropic.APIStatusError) as failure:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
        assert failure.value.status_code >= 500
        assert "SSL" in str(failure.value) or "certificate" in str(failure.value)
    finally:
        gateway.stop()
