"""The upstream through an outbound HTTP proxy named the way curl reads it (`http_proxy`, `https_proxy`,
`all_proxy`, `no_proxy`), as networks that reach Cerebras only through a proxy need. The fake upstream plays the
proxy: it answers the absolute-form request (`POST http://host/v1/chat/completions`) a proxy receives."""
import pytest

from conftest import ask, start_gateway

# `.invalid` never resolves: only a proxy can reach this upstream.
UNREACHABLE = "http://cerebras.invalid/v1"
PROXY_NAMES = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
               "NO_PROXY"]


@pytest.fixture(autouse=True)
def no_inherited_proxy(monkeypatch):
    # The gateway inherits the test's environment: only what a test sets may name a proxy.
    for name in PROXY_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("variable", ["http_proxy", "all_proxy", "ALL_PROXY"])
def test_the_upstream_is_reached_through_the_named_proxy(fake_upstream, variable):
    proxy = f"http://127.0.0.1:{fake_upstream.port}"
    gateway = start_gateway(fake_upstream.port, CEREBRAS_BASE_URL=UNREACHABLE, **{variable: proxy})
    try:
        status, _, body = ask(gateway)
        assert status == 200, body
        assert body["type"] == "message" and body["content"][0]["type"] == "text"
    finally:
        gateway.stop()


def test_a_proxy_named_in_the_env_file_reaches_the_workers(fake_upstream, tmp_path):
    # The master hands the file's lines to its workers as environment (`/etc/cerebras-gateway/env` under systemd).
    env_file = tmp_path / "gateway.env"
    env_file.write_text(f"http_proxy=http://127.0.0.1:{fake_upstream.port}\n")
    gateway = start_gateway(fake_upstream.port, CEREBRAS_BASE_URL=UNREACHABLE, ENV_FILE=str(env_file))
    try:
        status, _, body = ask(gateway)
        assert status == 200, body
    finally:
        gateway.stop()


def test_no_proxy_sends_a_listed_host_around_the_proxy(fake_upstream):
    proxy = f"http://127.0.0.1:{fake_upstream.port}"
    gateway = start_gateway(fake_upstream.port, CEREBRAS_BASE_URL=UNREACHABLE, http_proxy=proxy,
                            no_proxy="cerebras.invalid", UPSTREAM_MAX_RETRIES="0")
    try:
        status, _, body = ask(gateway)
        assert status >= 500, body
    finally:
        gateway.stop()


def test_without_a_proxy_variable_the_upstream_is_called_directly(fake_upstream):
    # Reachable directly, and the unreachable one is not reached through anything.
    direct = start_gateway(fake_upstream.port)
    unreachable = start_gateway(fake_upstream.port, CEREBRAS_BASE_URL=UNREACHABLE, UPSTREAM_MAX_RETRIES="0")
    try:
        assert ask(direct)[0] == 200
        status, _, body = ask(unreachable)
        assert status >= 500, body
    finally:
        direct.stop()
        unreachable.stop()
