"""Which certificates the gateway trusts for an HTTPS upstream: UPSTREAM_CA_FILE, read once per event loop rather
than for every new upstream connection (libcurl with OpenSSL 3 spends about 20 ms parsing the system's bundle)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import BIN_DIR, GATEWAY_KEY, ask
from test_tls_upstream import expected
from test_upstream_multiplexing import TOKENS, burst_of_streams, start_test_upstream_and_gateway

# The self-signed certificate (a CA for 127.0.0.1) the test upstreams serve.
TEST_CERT = Path(__file__).resolve().parent / "fixtures" / "tls-test-cert.pem"
# Debian's CA bundle (the ca-certificates package, which scripts/install-deps.sh installs).
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def test_an_upstream_certificate_trusted_through_the_ca_file_is_verified_once_per_event_loop(tmp_path):
    # Verification stays on (the default). The CA file is removed after the first connection: the burst's new
    # connections are still verified, against the certificates the worker's event loop read at its first connection.
    ca_file = tmp_path / "trusted.pem"
    shutil.copy(TEST_CERT, ca_file)
    upstream, stats_path, gateway = start_test_upstream_and_gateway(UPSTREAM_VERIFY_TLS="true",
                                                                   UPSTREAM_CA_FILE=str(ca_file))
    try:
        assert burst_of_streams(gateway, 1) == [(200, expected(TOKENS), "end_turn")]
        os.remove(ca_file)
        assert burst_of_streams(gateway, 4) == [(200, expected(TOKENS), "end_turn")] * 4
        stats = json.loads(stats_path.read_text())
        assert stats["connections"] >= 4, stats  # the first one kept, at least three new
    finally:
        gateway.stop()
        upstream.stop()


def test_an_upstream_certificate_outside_the_ca_file_is_refused():
    # A CA file that does not hold the upstream's certificate (the system's bundle, named explicitly): the handshake
    # fails and the client gets an error, never an unverified answer.
    upstream, _, gateway = start_test_upstream_and_gateway(UPSTREAM_VERIFY_TLS="true", UPSTREAM_CA_FILE=SYSTEM_BUNDLE,
                                                          UPSTREAM_MAX_RETRIES="0")
    try:
        status, _, answer = ask(gateway)
        assert status >= 500, (status, answer)
        assert "SSL" in str(answer) or "certificate" in str(answer), answer
    finally:
        gateway.stop()
        upstream.stop()


def check_config(ca_file):
    """`cerebras-gateway check-config` with keys set and UPSTREAM_CA_FILE=ca_file."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENV_FILE": "", "CEREBRAS_API_KEY": "csk-test",
                   "GATEWAY_API_KEYS": GATEWAY_KEY, "UPSTREAM_CA_FILE": str(ca_file)}
    return subprocess.run([str(BIN_DIR / "cerebras-gateway"), "check-config"], env=environment, capture_output=True,
                          text=True, timeout=30)


def test_an_unreadable_or_empty_ca_file_is_a_configuration_error(tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    for path, problem in ((tmp_path / "missing.pem", "cannot read"), (not_pem, "holds no PEM certificate")):
        result = check_config(path)
        assert result.returncode != 0, result.stdout
        assert "UPSTREAM_CA_FILE" in result.stderr and problem in result.stderr, result.stderr
    result = check_config(TEST_CERT)
    assert result.returncode == 0, result.stderr
