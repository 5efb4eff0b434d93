#!/usr/bin/env bash
# Throughput with rate limiting on without Redis (the master keeps the node's limits) vs off, same run.
# Arms alternate (off, [base,] on) so they see the same machine; non-streaming, 16 connections, 8 s each, a limit far
# above the load (RATE_LIMIT_RPM=100000000, RATE_LIMIT_TPM=0), so every request is admitted and only the cost shows.
#   Benchmarks/scripts/embedded_rate_limit_overhead.sh [BIN_DIR] [ROUNDS]
# With BASELINE_BIN=<dir holding another build's cerebras-gateway>, each round also runs that build with limits on
# ("base"), so a change is measured side by side with what it replaces. CPU is the gateway's whole tree (master
# included, which answers the workers' acquires).
set -euo pipefail
bin=${1:-.build/release}
rounds=${2:-3}
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.sh"

# Not called in $(…): the pid must reach the cleanup list of this shell.
start_gateway() { # name, binary, extra env…
    local name=$1 gateway=$2; shift 2
    env CEREBRAS_API_KEY=csk-x CEREBRAS_BASE_URL="http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=k \
        PROMPT_TUNING=false LOG_LEVEL=warning ENV_FILE= REDIS_URL= "$@" \
        "$gateway" --host 127.0.0.1 --port 0 --admin-port -1 --workers 2 > "$work/$name.out" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 100); do grep -q READY "$work/$name.out" && break; sleep 0.1; done
}
port_of() { sed -n 's/.*port=\([0-9]*\) .*/\1/p' "$work/$1.out"; }
limits=(RATE_LIMIT_ENABLED=true RATE_LIMIT_RPM=100000000 RATE_LIMIT_TPM=0)
start_gateway off "$bin/cerebras-gateway"
off_pid=${pids[-1]}
start_gateway on "$bin/cerebras-gateway" "${limits[@]}"
on_pid=${pids[-1]}
if [ -n "${BASELINE_BIN:-}" ]; then
    start_gateway base "$BASELINE_BIN/cerebras-gateway" "${limits[@]}"
    base_pid=${pids[-1]}
fi

run() { # port gateway-pid
    "$bin/gateway-bench" load --url "http://127.0.0.1:$1" --api anthropic --key k --connections 16 --duration 8 \
        --requests 100000000 --watch "gateway=$2" |
        python3 -c 'import json,sys
r = json.load(sys.stdin)
print("%d req/s (gateway %d ms CPU per 1,000 requests)" % (r["throughput_rps"], r["watch"]["gateway"]["cpu_ms_per_1k_requests"]))'
}
for round in $(seq "$rounds"); do
    base=""
    [ -n "${BASELINE_BIN:-}" ] && base="; base $(run "$(port_of base)" "$base_pid")"
    echo "round $round: off $(run "$(port_of off)" "$off_pid")$base; on $(run "$(port_of on)" "$on_pid")"
done
