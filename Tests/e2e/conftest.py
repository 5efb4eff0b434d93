"""Fixtures that start real processes on loopback: fake-cerebras, redis-server and the gateway itself.

Every process is started by a fixture, in its own process group, and stopped by PID when the fixture ends.
Binaries come from CGW_BIN_DIR (default: .build/debug, as `swift build` leaves them).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("CGW_BIN_DIR", ROOT / ".build" / "debug"))
GATEWAY_KEY = "e2e-gateway-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Where the processes' logs go: set by `process_logs` to a folder of pytest's own temporary directory, which pytest
# keeps for the last three runs and then removes. (Files of their own in /tmp piled up, a hundred and more every run.)
_log_directory = None


@pytest.fixture(scope="session", autouse=True)
def process_logs(tmp_path_factory):
    global _log_directory
    _log_directory = tmp_path_factory.mktemp("process-logs")
    yield _log_directory
    _log_directory = None


def scratch_directory(prefix: str) -> Path:
    """A new folder for a test's files, beside the processes' logs (in /tmp's default place outside a test run)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_log_directory))


# `process_group` is Python 3.11's (Debian 12's python3); older ones get a session, which contain.sh cannot see into.
OWN_PROCESS_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}


class ManagedProcess:
    """A child process in its own process group; `stop()` signals it by PID and waits.

    A group, not a session: the child stays in the test run's session, so what a crashed test leaves behind is
    still found and stopped by scripts/contain.sh.
    """

    def __init__(self, args, env=None, ready_prefix=None, timeout=60, preexec_fn=None):
        self.args = args
        # stderr (the JSON logs) goes to a file: a pipe nobody drains would fill up and block the process.
        self.log = tempfile.NamedTemporaryFile(prefix="cgw-e2e-", suffix=".log", delete=False, dir=_log_directory)
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE if ready_prefix else self.log, stderr=self.log,
            text=True, preexec_fn=preexec_fn, **OWN_PROCESS_GROUP,
        )
        self.first_line = None
        if ready_prefix:
            deadline = time.time() + timeout
            while time.time() < deadline:
                line = self.proc.stdout.readline()
                if not line:
                    err = self.logs()[-4000:]
                    raise RuntimeError(f"{args[0]} exited before {ready_prefix!r}: rc={self.proc.poll()} {err}")
                if line.startswith(ready_prefix):
                    self.first_line = line.strip()
                    break
            else:
                self.stop()
                raise RuntimeError(f"{args[0]} did not print {ready_prefix!r} within {timeout}s")

    def logs(self) -> str:
        with open(self.log.name, errors="replace") as handle:
            return handle.read()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def field(self, name: str) -> int:
        for part in (self.first_line or "").split():
            if part.startswith(name + "="):
                return int(part.split("=", 1)[1])
        raise KeyError(name)

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        # Children left behind in the group (a worker whose master was killed) are stopped too.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.returncode


@pytest.fixture
def fake_upstream():
    proc = ManagedProcess([str(BIN_DIR / "fake-cerebras"), "--port", "0", "--host", "127.0.0.1"], ready_prefix="LISTENING")
    proc.port = int(proc.first_line.split()[1])
    yield proc
    proc.stop()


def start_gateway(upstream_port: int, preexec_fn=None, **settings) -> ManagedProcess:
    env = dict(os.environ)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": "0",
            "ADMIN_PORT": "0",
            "WORKERS": "2",
            "CEREBRAS_API_KEY": "csk-e2e-upstream",
            "CEREBRAS_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
            "GATEWAY_API_KEYS": GATEWAY_KEY,
            "PROMPT_TUNING": "false",
            "UPSTREAM_RETRY_BASE_MS": "10",
            "ENV_FILE": "",
            "LOG_LEVEL": "warning",
        }
    )
    env.update({k: str(v) for k, v in settings.items()})
    proc = ManagedProcess([str(BIN_DIR / "cerebras-gateway")], env=env, ready_prefix="READY", preexec_fn=preexec_fn)
    proc.port = proc.field("port")
    proc.admin_port = proc.field("admin_port")
    proc.url = f"http://127.0.0.1:{proc.port}"
    return proc


@pytest.fixture
def gateway(fake_upstream):
    proc = start_gateway(fake_upstream.port)
    yield proc
    proc.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server on a free loopback port and, for REDIS_URL=unix://…, on a Unix socket (`socket_url`)."""
    port = free_port()
    socket_path = tmp_path / "redis.sock"
    proc = ManagedProcess(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--unixsocket", str(socket_path), "--unixsocketperm", "700"],
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    proc.port = port
    proc.url = f"redis://127.0.0.1:{port}/0"
    proc.socket_url = f"unix://{socket_path}?db=0"
    yield proc
    proc.stop()


def worker_pids(master_pid):
    """The master's children (its workers), from every one of its threads' /proc children lists."""
    pids = []
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


def http_json(url, method="GET", body=None, headers=None, timeout=30):
    """(status, headers, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status, response_headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        status, response_headers = error.code, dict(error.headers)
    try:
        return status, response_headers, json.loads(raw)
    except ValueError:
        return status, response_headers, raw.decode(errors="replace")


def ask(gateway, content="hello", key=GATEWAY_KEY, temperature=None, stream=False):
    """One small `POST /v1/messages` to a gateway: (status, headers, parsed JSON or text)."""
    body = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": content}]}
    if temperature is not None:
        body["temperature"] = temperature
    if stream:
        body["stream"] = True
    return http_json(f"{gateway.url}/v1/messages", "POST", body, {"x-api-key": key})


def read_text_stream(response):
    """Reads an Anthropic SSE answer to its end: (the text of its text deltas, the last event's name, the stop
    reason)."""
    text, stop_reason, event = [], None, None
    for raw in response:
        line = raw.decode()
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: ") and event == "content_block_delta":
            text.append(json.loads(line[6:])["delta"].get("text", ""))
        elif line.startswith("data: ") and event == "message_delta":
            stop_reason = json.loads(line[6:])["delta"]["stop_reason"]
    return "".join(text), event, stop_reason


def poll_until(read, done, seconds=10, interval=0.2):
    """Calls `read()` until `done(value)` holds or `seconds` have passed; returns the last value, for the caller to
    assert on. For what the gateway does a moment later: heartbeats, reconnects, stores that wait for a flush."""
    deadline = time.time() + seconds
    while True:
        value = read()
        if done(value) or time.time() >= deadline:
            return value
        time.sleep(interval)
