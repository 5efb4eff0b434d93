#!/usr/bin/env bash
# How the worker's upstream connections behave over the protocol the gateway speaks to Cerebras: TLS, with HTTP/2
# accepted in the handshake (nginx in front of the fake, `write_nginx_proxy_conf … tls`; FRONT=tls-h1: a front that
# accepts HTTP/1.1 only). Arms are measured alternately, a fresh standalone worker for every measurement. The
# front's certificate is not checked (UPSTREAM_VERIFY_TLS=false); VERIFY=1 checks it as in production, against the
# system's CA bundle with the front's certificate added (UPSTREAM_CA_FILE: builds from the thirty-first round on).
#
#   Benchmarks/scripts/upstream_connections.sh ARM... [-- ROUNDS]
#
# An ARM is a command that runs a gateway binary, split into words: a binary, or `env NAME=VALUE… binary`, e.g.
#   Benchmarks/scripts/upstream_connections.sh .build-bench/release/cerebras-gateway \
#       "env UPSTREAM_STREAMS_PER_CONNECTION=100 .build-bench/release/cerebras-gateway" -- 3
#
# Three measurements per arm and round (default 3 rounds):
#   cold burst   BURST_SIZES (default "50 500") streaming requests sent at once to a worker that has no upstream
#                connection yet (as after a start or a long idle), 5 chunks 20 ms apart: requests answered, TTFT p50
#                and p99, the worker's CPU for the burst, and the upstream connections it holds afterwards (at most 256
#                stay open, curl's idle limit), and how many of the burst's new connections resumed a TLS session
#                (the front's handshakes.log);
#   warm burst   the same after one request, whose connection's TLS session the burst's new connections may resume
#                (as after the upstream closed a quiet worker's connections, or for a burst beyond the kept ones);
#   steady       STREAMS (default 100) streams at a time, 300 streams of 200 chunks 20 ms apart after a warm-up
#                burst: the worker's CPU per relayed chunk, the gap p99, the upstream connections it holds and its peak
#                RSS (VmHWM: the streams' memory on top of an idle worker's);
#   requests     REQUESTS (default 20000) non-streamed requests on REQUEST_CONNECTIONS (default 16) kept-alive
#                connections after a warm-up of 2,000: the worker's CPU per request, the latency p50 and p99, and the
#                TLS handshakes the front made for them (more than 256 connections under way on a worker:
#                BENCHMARKS.md, "Thirty-ninth round").
# BURST_SIZES="" skips the bursts.
# CPU is read from /proc/<pid>/stat (10 ms ticks). Prints every measurement, then the medians. Needs nginx
# (nginx-light installed with apt-get when missing) and the benchmark build of fake-cerebras and gateway-bench in
# $BIN_DIR (default .build-bench/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
arms=()
while [[ $# -gt 0 && $1 != -- ]]; do arms+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
rounds=${1:-3}
[[ ${#arms[@]} -gt 0 ]] || { echo "usage: $0 ARM... [-- ROUNDS]" >&2; exit 2; }
burst_sizes=${BURST_SIZES-50 500}
streams=${STREAMS:-100}
requests=${REQUESTS:-20000}
request_connections=${REQUEST_CONNECTIONS:-16}
front=${FRONT:-tls}
[[ $front == tls || $front == tls-h1 ]] || { echo "FRONT must be tls or tls-h1" >&2; exit 2; }
verify=${VERIFY:-0}
bin=${BIN_DIR:-.build-bench/release}
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source Benchmarks/scripts/fake_upstream.sh
# shellcheck source=Benchmarks/scripts/nginx_proxy.sh
source Benchmarks/scripts/nginx_proxy.sh
install_if_missing nginx nginx-light

start_nginx_proxy "$work/nginx" "$fake_port" "$front"
pids+=("$nginx_pid")
wait_for_http "$nginx_url/" 10 || { echo "nginx did not start" >&2; exit 1; }
front_port=${nginx_url##*:}
trust=(UPSTREAM_VERIFY_TLS=false)
if [[ $verify == 1 ]]; then
    cat /etc/ssl/certs/ca-certificates.crt "$work/nginx/cert.pem" > "$work/trusted.pem"
    trust=(UPSTREAM_VERIFY_TLS=true "UPSTREAM_CA_FILE=$work/trusted.pem")
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
upstream_connections() { ss -Htn state established "( dport = :$front_port )" | wc -l; }
resumed_handshakes() { grep -c '^r' "$work/nginx/handshakes.log" || true; }
load() { # connections requests [chunks]: a streaming load (non-streamed without chunks) on the current worker, its
    # JSON summary in $work/load.json
    local kind=(--scenario text)
    [[ -n ${3:-} ]] && kind=(--stream --scenario "paced;chunks=$3;interval_ms=20")
    "$bin/gateway-bench" load --url "http://127.0.0.1:$worker_port" --api anthropic --key k --connections "$1" \
        --requests "$2" --duration 120 "${kind[@]}" 2>/dev/null | tail -n 1 > "$work/load.json"
}
summary() { # fields of $work/load.json, in milliseconds where a latency
    python3 - "$work/load.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ms = lambda histogram, quantile: d.get(histogram, {}).get(quantile, 0) / 1000
values = {"ok": d["ok"], "ttft_p50": ms("ttft_us", "p50"), "ttft_p99": ms("ttft_us", "p99"),
          "gap_p99": ms("gap_us", "p99"), "latency_p50": ms("latency_us", "p50"), "latency_p99": ms("latency_us", "p99")}
print(" ".join(f"{values[name]:.1f}" if isinstance(values[name], float) else str(values[name]) for name in sys.argv[2:]))
PY
}
start_arm() { # arm
    # shellcheck disable=SC2086 # an arm is a command split into words
    start_standalone_worker 20 env "CEREBRAS_BASE_URL=$nginx_url/v1" "${trust[@]}" $1 ||
        { echo "$1 did not start" >&2; exit 1; }
}
stop_arm() { kill "$worker"; wait "$worker" 2>/dev/null || true; }

: > "$work/results"
for _ in $(seq "$rounds"); do
    for arm in "${arms[@]}"; do
        for size in $burst_sizes; do
            for kind in burst warm-burst; do
                start_arm "$arm"
                [[ $kind == warm-burst ]] && load 1 1 5
                : > "$work/nginx/handshakes.log"
                before=$(cpu_ticks "$worker")
                load "$size" "$size" 5
                cpu_ms=$(( ($(cpu_ticks "$worker") - before) * 10 ))
                read -r ok p50 p99 <<<"$(summary ok ttft_p50 ttft_p99)"
                echo "$kind-$size|$arm|$ok $p50 $p99 $cpu_ms $(upstream_connections) $(resumed_handshakes)" |
                    tee -a "$work/results"
                stop_arm
            done
        done
        start_arm "$arm"
        load "$streams" "$streams" 20
        before=$(cpu_ticks "$worker")
        load "$streams" $((streams * 3)) 200
        cpu_us_per_chunk=$(python3 -c "print(round(($(cpu_ticks "$worker") - $before) * 10000 / ($streams * 3 * 200), 2))")
        read -r ok gap <<<"$(summary ok gap_p99)"
        echo "steady-$streams|$arm|$ok $cpu_us_per_chunk $gap $(upstream_connections) $(peak_rss_kib "$worker")" |
            tee -a "$work/results"
        stop_arm
        start_arm "$arm"
        load "$request_connections" 2000
        : > "$work/nginx/handshakes.log"
        before=$(cpu_ticks "$worker")
        load "$request_connections" "$requests"
        cpu_us_per_request=$(python3 -c "print(round(($(cpu_ticks "$worker") - $before) * 10000 / $requests, 2))")
        read -r ok p50 p99 <<<"$(summary ok latency_p50 latency_p99)"
        handshakes=$(wc -l < "$work/nginx/handshakes.log")
        echo "requests-$request_connections|$arm|$ok $cpu_us_per_request $p50 $p99 $handshakes" |
            tee -a "$work/results"
        stop_arm
    done
done

echo
echo "medians (burst: ok, TTFT p50 ms, TTFT p99 ms, worker CPU ms, upstream connections, resumed handshakes;" \
    "steady: ok, worker CPU µs per chunk, gap p99 ms, upstream connections, worker peak RSS KiB;" \
    "requests: ok, worker CPU µs per request, latency p50 ms, latency p99 ms, TLS handshakes):"
python3 - "$work/results" <<'PY'
import statistics, sys
groups = {}
for line in open(sys.argv[1]).read().splitlines():
    kind, arm, values = line.split("|")
    groups.setdefault((kind, arm), []).append([float(v) for v in values.split()])
for (kind, arm), runs in sorted(groups.items()):
    medians = " ".join(f"{statistics.median(column):g}" for column in zip(*runs))
    print(f"{kind:<11} {medians:<32} {arm}")
PY
