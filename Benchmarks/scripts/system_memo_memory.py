#!/usr/bin/env python3
"""What a remembered system prompt costs a worker in memory.

    Benchmarks/scripts/system_memo_memory.py [BIN_DIR]      BIN_DIR default .build-bench/release

One standalone worker (`cerebras-gateway worker --standalone`) in front of the fake upstream, with the system prompt
memo on (SYSTEM_MEMO_ENTRIES=16) and then off (0), is sent Claude Code's request (Tests/Fixtures/claude-code-request)
40 times with two alternating prompts to settle its memory, then 16 times with 16 new prompts (the fixture's, each
with another first line). Printed: the worker's RSS growth over those 16 requests, per prompt. Tools and messages are
the same in every request, so the other memos hold nothing new.
"""
import json
import os
import signal
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests/Fixtures/claude-code-request/anthropic.request.json")
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build-bench/release"))
PROMPTS = 16


def start(command, env=None):
    """Starts a server that prints `LISTENING <port>`; returns its process and port."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("LISTENING"):
            return process, int(line.split()[1])
    process.kill()
    raise RuntimeError(f"{command[0]} did not start")


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait()


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])


def growth_per_prompt(fake_port, entries):
    env = dict(os.environ, CEREBRAS_API_KEY="csk-bench", CEREBRAS_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
               GATEWAY_API_KEYS="bench-key", LOG_LEVEL="warning", ENV_FILE="/dev/null", SYSTEM_MEMO_ENTRIES=str(entries))
    worker, port = start([os.path.join(BIN, "cerebras-gateway"), "worker", "--standalone", "--host", "127.0.0.1",
                          "--port", "0"], env)
    fixture = json.load(open(FIXTURE))
    fixture["stream"] = False

    def send(number):
        body = json.loads(json.dumps(fixture))
        body["system"][-1]["text"] = f"prompt {number}: " + body["system"][-1]["text"]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", data=json.dumps(body).encode(),
                                         headers={"x-api-key": "bench-key", "content-type": "application/json"})
        urllib.request.urlopen(request).read()

    try:
        for number in range(40):
            send(-1 - number % 2)
        before = rss_kib(worker.pid)
        for number in range(PROMPTS):
            send(number)
        return (rss_kib(worker.pid) - before) / PROMPTS
    finally:
        stop(worker)


def main():
    fake, fake_port = start([os.path.join(BIN, "fake-cerebras"), "--port", "0", "--host", "127.0.0.1", "--threads", "1"])
    try:
        for entries in (16, 0):
            print(f"SYSTEM_MEMO_ENTRIES={entries}: {growth_per_prompt(fake_port, entries):.1f} KiB of RSS per new "
                  f"system prompt ({PROMPTS} prompts)", flush=True)
    finally:
        stop(fake)


if __name__ == "__main__":
    main()
