#!/usr/bin/env bash
# System calls, context switches and CPU per request or per relayed chunk of standalone workers, counted by the
# kernel's tracepoints through `perf stat` (a fraction of strace's overhead, so the timing that decides how many
# wake-ups and looks a request takes is not changed by the counting itself).
#   Benchmarks/scripts/syscalls.sh MODE BINARY...
#   MODE: request (5,000 non-streaming requests at concurrency $CONNECTIONS, default 1), stream (10 streams of 50
#   chunks at 20 ms pacing, or $CONNECTIONS streams at once and $STREAMS in all), cerebras (10 streams of 2,000
#   chunks at 0.33 ms pacing, 20 in all)
# LOAD_ARGS adds `gateway-bench load` options (e.g. "--temperature 0 --unique": every request a cache miss); the
# worker inherits the environment, so gateway settings (REDIS_URL, CACHE_ENABLED, …) apply to it.
# UPSTREAM=tls-h1 (or tls) puts nginx with TLS in front of the fake, offering HTTP/1.1 only (or HTTP/2 as well), as
# api.cerebras.ai is reached; the workers then call it over TLS, certificate checks off. Default: plain, the fake in
# clear.
# Each binary runs as `cerebras-gateway worker --standalone` against one fake upstream, warmed up with 200 requests;
# name the same binaries alternately (A B A B) to see how much a figure moves between runs. Needs perf (the
# linux-perf package, installed with apt-get when missing) and the benchmark build of fake-cerebras and
# gateway-bench in $BIN_DIR (default .build-bench/release).
set -euo pipefail
mode=${1:?MODE: request, stream or cerebras}
shift
bin=${BIN_DIR:-.build-bench/release}
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.sh"
case $mode in
request) load=(--connections "${CONNECTIONS:-1}" --requests 5000); units=5000 ;;
stream)
    streams=${STREAMS:-100}
    load=(--stream --scenario 'paced;chunks=50;interval_ms=20' --connections "${CONNECTIONS:-10}" --requests "$streams")
    units=$((streams * 50))
    ;;
cerebras) load=(--stream --scenario 'paced;chunks=2000;interval_us=330' --connections 10 --requests 20); units=40000 ;;
*) echo "MODE must be request, stream or cerebras" >&2; exit 2 ;;
esac
install_if_missing perf linux-perf
events=syscalls:sys_enter_epoll_wait,syscalls:sys_enter_poll,syscalls:sys_enter_recvfrom,raw_syscalls:sys_enter
events+=,task-clock,context-switches
upstream=()
case ${UPSTREAM:-plain} in
plain) ;;
tls | tls-h1)
    install_if_missing nginx nginx-light
    # shellcheck source=Benchmarks/scripts/nginx_proxy.sh
    source "$(dirname "${BASH_SOURCE[0]}")/nginx_proxy.sh"
    start_nginx_proxy "$work/nginx" "$fake_port" "$UPSTREAM"
    pids+=("$nginx_pid")
    wait_for_http "$nginx_url/" 10 || { echo "nginx did not start" >&2; exit 1; }
    upstream=(env "CEREBRAS_BASE_URL=$nginx_url/v1" UPSTREAM_VERIFY_TLS=false)
    ;;
*) echo "UPSTREAM must be plain, tls or tls-h1" >&2; exit 2 ;;
esac

for binary in "$@"; do
    start_standalone_worker 10 "${upstream[@]}" "$binary" || { echo "$binary: the worker did not start" >&2; exit 1; }
    url=http://127.0.0.1:$worker_port
    "$bin/gateway-bench" load --url "$url" --key k --connections 1 --requests 200 > /dev/null 2>&1
    perf stat -e "$events" -p "$worker" -o "$work/perf.txt" &
    counter=$!
    sleep 0.5
    # shellcheck disable=SC2086 # the extra options are split into words on purpose
    "$bin/gateway-bench" load --url "$url" --key k "${load[@]}" ${LOAD_ARGS:-} > "$work/load.json" 2>/dev/null
    kill -INT "$counter"
    wait "$counter" 2>/dev/null || true
    kill "$worker"
    wait "$worker" 2>/dev/null || true
    printf '%s (per %s):' "$binary" "$([[ $mode == request ]] && echo request || echo chunk)"
    awk -v units="$units" '
        /task-clock/ { gsub(",", "", $1); printf " CPU %.1f us,", $1 * 1000 / units; next }
        $2 ~ /epoll_wait|sys_enter_poll|sys_enter_recvfrom|raw_syscalls|context-switches/ {
            gsub(",", "", $1); name = $2; sub(/^(syscalls|raw_syscalls):sys_enter_?/, "", name)
            printf " %s %.2f,", (name == "" ? "all system calls" : name), $1 / units }' "$work/perf.txt"
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" %d ok, p50 %.0f us" % (r["ok"], r["latency_us"].get("p50", 0)))' "$work/load.json"
done
