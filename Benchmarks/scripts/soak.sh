#!/usr/bin/env bash
# Memory under steady streaming load: one minute of warm-up, then ten one-minute runs of 50 concurrent paced
# streams (100 chunks at 20 ms), printing the RSS of master + workers after each minute.
#   Benchmarks/scripts/soak.sh [BIN_DIR] [MINUTES]
set -euo pipefail
bin=${1:-.build/release}
minutes=${2:-10}
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.sh"
env CEREBRAS_API_KEY=csk-x CEREBRAS_BASE_URL="http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=k PROMPT_TUNING=false \
    LOG_LEVEL=warning ENV_FILE= "$bin/cerebras-gateway" --host 127.0.0.1 --port 0 --admin-port -1 --workers 2 \
    > "$work/gateway.out" 2>/dev/null &
gateway=$!
pids+=("$gateway")
for _ in $(seq 100); do grep -q READY "$work/gateway.out" && break; sleep 0.1; done
port=$(sed -n 's/.*port=\([0-9]*\) .*/\1/p' "$work/gateway.out")

rss_kib() { for pid in "$gateway" $(cat "/proc/$gateway/task/$gateway/children"); do
    awk '/VmRSS/{print $2}' "/proc/$pid/status"; done | paste -sd+ | bc; }
load() { "$bin/gateway-bench" load --url "http://127.0.0.1:$port" --api anthropic --key k --stream \
    --scenario 'paced;chunks=100;interval_ms=20' --connections 50 --duration 60 --requests 100000000 --label "$1"; }

load warm > /dev/null
echo "t=0 rss_kib=$(rss_kib)"
for minute in $(seq "$minutes"); do
    summary=$(load "soak$minute" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("ok", d["ok"], "failed", d["failed"])')
    echo "t=${minute}min rss_kib=$(rss_kib) $summary"
done
