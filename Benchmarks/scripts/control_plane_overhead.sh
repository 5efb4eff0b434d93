#!/usr/bin/env bash
# Issue 5's figure: throughput with rate limiting and the cache on (Redis on loopback) vs off, same run.
# Arms alternate (off, on, off, on, …) so both see the same machine; non-streaming, 16 connections, 8 s each.
# Two request kinds, each round: "bypass" (no temperature: not cacheable, so "on" costs one rate-limit script
# call) and "all-miss" (temperature 0 and a unique prompt each time: cacheable, never cached, so "on" also looks
# the answer up and stores it — the worst case for the cache).
#   Benchmarks/scripts/control_plane_overhead.sh [BIN_DIR] [ROUNDS]
# With BASELINE_BIN=<dir holding another build's cerebras-gateway>, each round also runs that build with the control
# plane on ("base"), between the two arms, so an optimisation is measured side by side with what it replaces.
# With UNIX_SOCKET=1, each round also runs the gateway with the control plane on over redis-server's Unix socket
# (REDIS_URL=unix://…, "unix"), after the "on" arm: Redis on the same machine without the TCP stack.
# Each round's line ends with its on ÷ off; the last lines give, per request kind, the median of the rounds' ratios
# (each pair from one round, as the full run's report judges issue 7's "on ≥ 0.9× off") with their range, and the
# Redis commands per request of the "on" arm.
set -euo pipefail
bin=${1:-.build/release}
rounds=${2:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a whole number above 0, not '$rounds'" >&2; exit 2; }
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.sh"

redis_socket=$work/redis.sock
start_redis_server "$work" --unixsocket "$redis_socket" --unixsocketperm 700
pids+=("$redis_pid")
wait_for_redis "$redis_port" 5 || { echo "redis-server did not start" >&2; exit 1; }

# Not called in $(…): the pid must reach the cleanup list of this shell.
start_gateway() { # name, extra env…
    local name=$1 gateway=$bin/cerebras-gateway; shift
    [ "$name" = base ] && gateway=$BASELINE_BIN/cerebras-gateway
    [ "$name" = unix ] && set -- "$@" "REDIS_URL=unix://$redis_socket?db=0"
    env CEREBRAS_API_KEY=csk-x CEREBRAS_BASE_URL="http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=k \
        PROMPT_TUNING=false LOG_LEVEL=warning ENV_FILE= "$@" \
        "$gateway" --host 127.0.0.1 --port 0 --admin-port -1 --workers 2 > "$work/$name.out" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 100); do grep -q READY "$work/$name.out" && break; sleep 0.1; done
}
port_of() { sed -n 's/.*port=\([0-9]*\) .*/\1/p' "$work/$1.out"; }
start_gateway off
control_plane=(REDIS_URL="redis://127.0.0.1:$redis_port/0" RATE_LIMIT_ENABLED=true RATE_LIMIT_RPM=100000000
    RATE_LIMIT_TPM=0 CACHE_ENABLED=true)
start_gateway on "${control_plane[@]}"
off=$(port_of off)
on=$(port_of on)
off_pid=${pids[2]} on_pid=${pids[3]}
if [ -n "${BASELINE_BIN:-}" ]; then
    start_gateway base "${control_plane[@]}"
    base=$(port_of base)
    base_pid=${pids[4]}
fi
if [ "${UNIX_SOCKET:-0}" = 1 ]; then
    start_gateway unix "${control_plane[@]}"
    unix=$(port_of unix)
    unix_pid=${pids[${#pids[@]} - 1]}
fi

# redis-server's count of commands and of socket reads so far: their ratio over a run is how many commands arrive
# per read, i.e. how well the gateway's connections batch.
redis_counts() {
    redis-cli -p "$redis_port" INFO stats |
        awk -F: '/^total_commands_processed:/ {c=$2} /^total_reads_processed:/ {r=$2} END {printf "%d %d", c, r}'
}

# Prints "R req/s (gateway G ms, redis S ms CPU per 1,000 requests, C commands per read)": the CPU figures tell how
# much of a drop is redis-server taking its share of the same two cores, which Redis on its own host would not.
# Also adds "KIND LABEL REQ/S REDIS-COMMANDS-PER-REQUEST" to $work/rates, for the ratios (KIND: the caller's $kind).
run() { # port gateway-pid label [load options…]
    local port=$1 pid=$2 label=$3 before report; shift 3
    before=$(redis_counts)
    report=$("$bin/gateway-bench" load --url "http://127.0.0.1:$port" --api anthropic --key k --connections 16 \
        --duration 8 --requests 100000000 --label "$label" --watch "gateway=$pid" --watch "redis=$redis_pid" "$@")
    # shellcheck disable=SC2046,SC2086 # the counts are two numbers each, split on purpose
    python3 -c 'import json,sys
r = json.load(sys.stdin); w = r["watch"]
c0, r0, c1, r1 = (int(x) for x in sys.argv[1:5])
batching = ", %.2f commands per read" % ((c1 - c0) / (r1 - r0)) if r1 - r0 > 100 else ""
print("%d req/s (gateway %d ms, redis %d ms CPU per 1,000 requests%s)" % (r["throughput_rps"],
      w["gateway"]["cpu_ms_per_1k_requests"], w["redis"]["cpu_ms_per_1k_requests"], batching))
with open(sys.argv[7], "a") as rates:
    rates.write("%s %s %.1f %.3f\n" % (sys.argv[5], sys.argv[6], r["throughput_rps"], (c1 - c0) / max(1, r["ok"])))' \
        $before $(redis_counts) "$kind" "$label" "$work/rates" <<<"$report"
}
# The baseline's arm, when there is one: "; base …" between off and on.
base_arm() { # load options…
    [ -n "${BASELINE_BIN:-}" ] && echo "; base $(run "$base" "$base_pid" base "$@")"
    return 0
}
# The Unix-socket arm, when there is one: "; unix …" after on.
unix_arm() { # load options…
    [ "${UNIX_SOCKET:-0}" = 1 ] && echo "; unix $(run "$unix" "$unix_pid" unix "$@")"
    return 0
}
# The last round's on ÷ off for $kind, or with "summary" the medians of every round's ratios (see the script).
ratios() { # round|summary
    python3 "$(dirname "${BASH_SOURCE[0]}")/control_plane_ratios.py" "$1" "$work/rates" "$kind"
}
for round in $(seq "$rounds"); do
    for kind in bypass all-miss; do
        load_options=()
        [ "$kind" = all-miss ] && load_options=(--temperature 0 --unique)
        line="off $(run "$off" "$off_pid" off "${load_options[@]}")$(base_arm "${load_options[@]}")"
        line+="; on $(run "$on" "$on_pid" on "${load_options[@]}")$(unix_arm "${load_options[@]}")"
        printf 'round %d, %-9s %s; on ÷ off %s\n' "$round" "$kind:" "$line" "$(ratios round)"
    done
done
ratios summary
