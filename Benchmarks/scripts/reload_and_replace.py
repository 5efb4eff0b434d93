#!/usr/bin/env python3
"""Issue 4's figures: requests failed across 50 reloads under steady load, and the time from a worker's
SIGKILL to its replacement reporting ready. Uses the release binaries and the fake upstream on loopback.

    python3 Benchmarks/scripts/reload_and_replace.py [BIN_DIR]
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release"


def start(args, env=None, prefix=None):
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    line = proc.stdout.readline()
    assert line.startswith(prefix), line
    return proc, line


def get(url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


fake, line = start([f"{BIN}/fake-cerebras", "--port", "0", "--host", "127.0.0.1"], prefix="LISTENING")
fake_port = int(line.split()[1])
env = dict(os.environ, CEREBRAS_API_KEY="csk-x", CEREBRAS_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
           GATEWAY_API_KEYS="k", PROMPT_TUNING="false", LOG_LEVEL="warning", ENV_FILE="")
gateway, line = start([f"{BIN}/cerebras-gateway", "--host", "127.0.0.1", "--port", "0", "--admin-port", "0",
                       "--workers", "2"], env=env, prefix="READY")
fields = dict(part.split("=") for part in line.split()[1:])
port, admin = int(fields["port"]), int(fields["admin_port"])
body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10,
                   "messages": [{"role": "user", "content": "hi"}]}).encode()
headers = {"x-api-key": "k", "content-type": "application/json"}

stop = threading.Event()
counts = {"ok": 0, "failed": 0}
lock = threading.Lock()


def load():
    while not stop.is_set():
        try:
            status, _ = get(f"http://127.0.0.1:{port}/v1/messages", body, headers)
            ok = status == 200
        except Exception:
            ok = False
        with lock:
            counts["ok" if ok else "failed"] += 1


def health():
    return json.loads(get(f"http://127.0.0.1:{admin}/health")[1])


try:
    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    started = time.time()
    for generation in range(2, 52):
        gateway.send_signal(signal.SIGHUP)
        while True:
            state = health()
            if state["generation"] == generation and state["workers"]["alive"] == 2:
                break
            time.sleep(0.02)
    reload_seconds = time.time() - started
    stop.set()
    for thread in threads:
        thread.join()
    print(f"50 reloads in {reload_seconds:.1f} s under load: {counts['ok']} requests ok, {counts['failed']} failed")

    replacements = []
    for _ in range(5):
        children = open(f"/proc/{gateway.pid}/task/{gateway.pid}/children").read().split()
        killed_at = time.time()
        os.kill(int(children[0]), signal.SIGKILL)
        while True:
            state = health()
            now = set(open(f"/proc/{gateway.pid}/task/{gateway.pid}/children").read().split())
            if children[0] not in now and state["workers"]["ready"] == 2:
                replacements.append(time.time() - killed_at)
                break
            time.sleep(0.002)
        time.sleep(0.5)
    print("worker SIGKILL → replacement ready: " + ", ".join(f"{s * 1000:.0f} ms" for s in replacements))
finally:
    stop.set()
    gateway.send_signal(signal.SIGTERM)
    gateway.wait(timeout=30)
    fake.send_signal(signal.SIGTERM)
    fake.wait(timeout=10)
