#!/usr/bin/env python3
"""What the conversation memo saves a worker, and what it holds.

    Benchmarks/scripts/conversation_memo.py [BIN_DIR] [ROUNDS]      BIN_DIR default .build-bench/release

1. CPU per Claude Code turn: one standalone worker (`cerebras-gateway worker --standalone`) in front of the fake,
   sent Claude Code's request (Tests/Fixtures/claude-code-request) by `gateway-bench load --unique`, so every request
   is the conversation with a different newest message, as a next turn is. Arms alternate in each round: the memo
   off (CONVERSATION_MEMO_MB=0) and on, and with BASELINE_BIN=<another build's cerebras-gateway> that build too. The
   worker's CPU (user + system, /proc/<pid>/stat) over the measured requests, per request.
2. Memory per remembered conversation: the worker's RSS after 200 different conversations (the fixture with another
   first message each), with the memo on and off.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests/Fixtures/claude-code-request/anthropic.request.json")
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build-bench/release"))
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
CONNECTIONS, WARMUP, MEASURED, CONVERSATIONS = 4, 200, 3000, 200
TICK = os.sysconf("SC_CLK_TCK")
running = []


def start(command, env=None):
    """Starts a server that prints `LISTENING <port>`; returns its process and port."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    running.append(process)
    for line in process.stdout:
        if line.startswith("LISTENING"):
            return process, int(line.split()[1])
    raise RuntimeError(f"{command[0]} did not start")


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait()
    running.remove(process)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])


def worker(binary, fake_port, memo_mb, **settings):
    env = dict(os.environ, CEREBRAS_API_KEY="csk-bench", CEREBRAS_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
               GATEWAY_API_KEYS="bench-key", LOG_LEVEL="warning", MAX_CONCURRENT_UPSTREAM="4096",
               ENV_FILE="/dev/null", CONVERSATION_MEMO_MB=str(memo_mb), **settings)
    return start([binary, "worker", "--standalone", "--host", "127.0.0.1", "--port", "0"], env)


def load(port, requests, out):
    subprocess.run([os.path.join(BIN, "gateway-bench"), "load", "--url", f"http://127.0.0.1:{port}", "--key", "bench-key",
                    "--body-file", FIXTURE, "--unique", "--connections", str(CONNECTIONS), "--requests", str(requests)],
                   stdout=out, stderr=subprocess.DEVNULL, check=True)


def turn_cost(binary, fake_port, memo_mb):
    process, port = worker(binary, fake_port, memo_mb)
    try:
        with tempfile.TemporaryFile() as ignored:
            load(port, WARMUP, ignored)
        before = cpu_seconds(process.pid)
        with tempfile.TemporaryFile("w+") as report:
            load(port, MEASURED, report)
            report.seek(0)
            summary = json.load(report)
        spent = cpu_seconds(process.pid) - before
    finally:
        stop(process)
    return spent / MEASURED * 1e6, summary


def memory_per_request(binary, fake_port, memo_mb, edit, count, settle=20, **settings):
    """The worker's RSS growth per request over `count` requests of the fixture (not streamed), each changed by
    `edit(body, number)` with numbers 0, 1, …, after `settle` requests with -1 and -2 alternately, which settle the
    worker's own memory. `settings` are more environment variables for the worker."""
    process, port = worker(binary, fake_port, memo_mb, **settings)
    fixture = json.load(open(FIXTURE))
    fixture["stream"] = False

    def send(number):
        body = json.loads(json.dumps(fixture))
        edit(body, number)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", data=json.dumps(body).encode(),
                                         headers={"x-api-key": "bench-key", "content-type": "application/json"})
        urllib.request.urlopen(request).read()

    try:
        for number in range(settle):
            send(-1 - number % 2)
        before = rss_kib(process.pid)
        for number in range(count):
            send(number)
        return (rss_kib(process.pid) - before) / count
    finally:
        stop(process)


def memory_per_conversation(binary, fake_port, memo_mb):
    def another_conversation(body, number):
        first = next(m for m in body["messages"] if m["role"] == "user")
        first["content"][0]["text"] = f"conversation {number}: " + first["content"][0]["text"]
    return memory_per_request(binary, fake_port, memo_mb, another_conversation, CONVERSATIONS)


def main():
    fake, fake_port = start([os.path.join(BIN, "fake-cerebras"), "--port", "0", "--host", "127.0.0.1", "--threads", "1"])
    gateway = os.path.join(BIN, "cerebras-gateway")
    arms = [("memo off", gateway, 0), ("memo on", gateway, 32)]
    if os.environ.get("BASELINE_BIN"):
        arms.insert(0, ("baseline", os.path.abspath(os.environ["BASELINE_BIN"]), 32))
    print(f"worker CPU per Claude Code turn (gateway-bench load --unique, {CONNECTIONS} connections, "
          f"{MEASURED} requests per arm and round)")
    costs = {name: [] for name, _, _ in arms}
    for round_number in range(1, ROUNDS + 1):
        for name, binary, memo_mb in arms:
            micros, summary = turn_cost(binary, fake_port, memo_mb)
            costs[name].append(micros)
            latency = summary.get("latency_us") or {}
            print(f"round {round_number} {name:9s} {micros:7.1f} µs/request  ok {summary.get('ok')}  "
                  f"p50 {latency.get('p50')} µs  p99 {latency.get('p99')} µs", flush=True)
    medians = {name: sorted(values)[len(values) // 2] for name, values in costs.items()}
    for name in medians:
        print(f"median {name:9s} {medians[name]:7.1f} µs/request  "
              f"({medians[name] / medians['memo off']:.2f}× the memo off)")
    for name, memo_mb in [("memo off", 0), ("memo on", 32)]:
        print(f"RSS per remembered conversation, {name}: "
              f"{memory_per_conversation(gateway, fake_port, memo_mb):.1f} KiB ({CONVERSATIONS} conversations)")
    stop(fake)


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in list(running):
            process.send_signal(signal.SIGTERM)
            process.wait()
