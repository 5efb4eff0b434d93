#!/usr/bin/env bash
# CPU time a worker spends per Claude Code turn, for two or more builds side by side.
#
#   Benchmarks/scripts/worker_turn_cpu.sh ROUNDS BIN [BIN …]
#
# Each round starts every BIN in turn as one standalone worker (`cerebras-gateway worker --standalone`) in front of
# the fake upstream and sends it Claude Code's request (Tests/Fixtures/claude-code-request) with
# `gateway-bench load --unique --connections 4`: every request is the conversation with a different newest message,
# as a next turn is. After 300 warm-up requests, `perf stat -e task-clock` measures the worker over 3,000 more
# (user and system time, finer than /proc's 10 ms ticks); the medians over the rounds are printed last. This host
# has no hardware counters, so cycles are not available; `scripts/instructions.sh` counts instructions instead.
# Needs `perf` and the benchmark build of fake-cerebras and gateway-bench (BENCHMARKS.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[[ $# -ge 2 ]] || { echo "usage: $0 ROUNDS BIN [BIN …]" >&2; exit 2; }
rounds=$1
shift
bench=.build-bench/release
fixture=Tests/Fixtures/claude-code-request/anthropic.request.json
work=$(mktemp -d /tmp/worker-turn-cpu.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

listening_port() {  # the port a server printed as `LISTENING <port>` in file $1
    local port=""
    for _ in $(seq 50); do
        port=$(awk '/LISTENING/ {print $2}' "$1")
        [[ -n $port ]] && break
        sleep 0.1
    done
    echo "$port"
}

"$bench/fake-cerebras" --port 0 --host 127.0.0.1 --threads 1 >"$work/fake.out" 2>/dev/null &
pids+=($!)
fake_port=$(listening_port "$work/fake.out")
for round in $(seq "$rounds"); do
    for binary in "$@"; do
        CEREBRAS_API_KEY=csk-bench CEREBRAS_BASE_URL="http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=bench-key \
            LOG_LEVEL=warning MAX_CONCURRENT_UPSTREAM=4096 ENV_FILE=/dev/null \
            "$binary" worker --standalone --host 127.0.0.1 --port 0 >"$work/worker.out" 2>/dev/null &
        worker=$!
        pids+=("$worker")
        load=("$bench/gateway-bench" load --url "http://127.0.0.1:$(listening_port "$work/worker.out")"
              --key bench-key --body-file "$fixture" --unique --connections 4)
        "${load[@]}" --requests 300 >/dev/null
        perf stat -x, -e task-clock -p "$worker" -o "$work/stat" -- "${load[@]}" --requests 3000 >/dev/null
        micros=$(awk -F, '$3 == "task-clock" {printf "%.1f", $1 * 1000 / 3000}' "$work/stat")
        echo "round $round $binary $micros µs per request"
        kill "$worker"
        wait "$worker" 2>/dev/null || true
    done
done | tee "$work/rounds"
for binary in "$@"; do
    awk -v binary="$binary" '$3 == binary {print $4}' "$work/rounds" | sort -n \
        | awk -v binary="$binary" '{v[NR] = $1} END {printf "median %s %.1f µs per request (%d rounds)\n", binary, v[int((NR + 1) / 2)], NR}'
done
