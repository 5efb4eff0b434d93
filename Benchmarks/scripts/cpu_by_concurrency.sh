#!/usr/bin/env bash
# CPU per non-streaming request at concurrency 1 and 16, user and system time apart, of nginx (the benchmark's
# reverse proxy, 2 workers) and of the gateway (master + 2 workers), both in front of one fake upstream, measured
# alternately in one run; with the fake called directly too, for the latency each proxy adds (and the fake's own
# CPU as that arm's).
#
#   Benchmarks/scripts/cpu_by_concurrency.sh [GATEWAY_BINARY] [ROUNDS]
#   UPSTREAM_TLS=1 Benchmarks/scripts/cpu_by_concurrency.sh …
#   SCENARIO='paced;chunks=200;interval_ms=0.33' REQUESTS="300 3000" Benchmarks/scripts/cpu_by_concurrency.sh …
#   HEADER_FILE=Benchmarks/fixtures/anthropic-python-sdk.fields Benchmarks/scripts/cpu_by_concurrency.sh …
#   BASELINE_BIN=/path/to/old/cerebras-gateway Benchmarks/scripts/cpu_by_concurrency.sh NEW 6
#
# BASELINE_BIN (a binary, or a build directory holding cerebras-gateway) adds a `baseline` arm: a second gateway,
# started beside the first and measured right before or after it in every round (the order alternating), so that two
# builds are compared in one run against the same fake and nginx. The summary then gives each round's gateway ÷
# baseline pair and their median, the figure a change is judged by.
#
# Every arm asks for the non-streamed answer (since the forty-eighth round the gateway asks its upstream for what its
# client asked; before it, the gateway folded a streamed answer, and SAME_UPSTREAM=1 made the other arms stream too).
#
# SCENARIO gives every arm that answer of the fake's (the example: 200 tokens at Cerebras pacing, an answer that
# takes 66 ms), and REQUESTS="N1 N16" measures N1 requests at c=1 and N16 at c=16. HEADER_FILE adds its `Name: value`
# lines to every request of every arm (`gateway-bench load --header-file`): the example is the head the Python SDK
# sends, a dozen fields more than the generator's own.
#
# With UPSTREAM_TLS=1 both proxies call their upstream over TLS, as in front of api.cerebras.ai: a second nginx
# (`write_nginx_proxy_conf … tls-h1`, HTTP/1.1 over TLS, its CPU not counted) stands in front of the fake, the gateway
# calls it with certificate checks off and nginx with `proxy_pass https://` (keep-alive, session reuse). The direct
# arm still calls the fake in clear, so each proxy's added latency includes that front's hop.
#
# Default: the benchmark build's .build-bench/release/cerebras-gateway, 3 rounds. CPU is read from
# /proc/<pid>/stat (utime, stime) of every process of the arm before and after a closed-loop run of gateway-bench
# (10,000 requests at c=1, 40,000 at c=16 unless REQUESTS says otherwise; the kernel counts in 10 ms ticks, so a
# figure is good to about 1 %), after a twentieth as many warm-up requests as at c=16 (2,000; at least 200). Prints each run, then the medians and their ratios.
#
# What it shows: at concurrency 1 a proxy sleeps between requests and shares the two cores with the generator and
# the fake, so each request runs with cold caches and pays two wake-ups; its CPU per request is then a multiple of
# its CPU at c=16, for nginx as for the gateway, and the added latency at c=1 is about that CPU (BENCHMARKS.md,
# "Twenty-fourth round"). Needs nginx (nginx-light installed with apt-get when missing) and the benchmark build of
# fake-cerebras and gateway-bench in $BIN_DIR (default .build-bench/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN_DIR:-.build-bench/release}
gateway=${1:-$bin/cerebras-gateway}
rounds=${2:-3}
baseline=${BASELINE_BIN:-}
[[ -n $baseline && -d $baseline ]] && baseline=$baseline/cerebras-gateway
if [[ -n $baseline && ! -x $baseline ]]; then
    echo "BASELINE_BIN '$BASELINE_BIN' is not an executable file or a directory holding cerebras-gateway" >&2
    exit 2
fi
read -r requests_c1 requests_c16 <<<"${REQUESTS:-10000 40000}"
warmup=$((requests_c16 / 20 > 200 ? requests_c16 / 20 : 200))
scenario=()
[[ -n ${SCENARIO:-} ]] && scenario=(--scenario "$SCENARIO")
fields=()
[[ -n ${HEADER_FILE:-} ]] && fields=(--header-file "$(realpath "$HEADER_FILE")")
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source Benchmarks/scripts/fake_upstream.sh
# shellcheck source=Benchmarks/scripts/nginx_proxy.sh
source Benchmarks/scripts/nginx_proxy.sh
install_if_missing nginx nginx-light

hz=$(getconf CLK_TCK)

upstream_port=$fake_port upstream_url=http://127.0.0.1:$fake_port upstream_scheme=http
if [[ ${UPSTREAM_TLS:-0} == 1 ]]; then
    start_nginx_proxy "$work/front" "$fake_port" tls-h1
    pids+=("$nginx_pid")
    wait_for_http "$nginx_url/" 10 || { echo "the TLS front did not start" >&2; exit 1; }
    upstream_url=$nginx_url upstream_port=${nginx_url##*:} upstream_scheme=https
fi

# nginx as scripts/bench.sh runs it.
start_nginx_proxy "$work/nginx" "$upstream_port" "" "$upstream_scheme"
pids+=("$nginx_pid")

: >"$work/empty.env"
start_gateway() { # binary name → sets started_port and started_pid
    local binary=$1 name=$2
    started_port=$(free_port)
    env CEREBRAS_API_KEY=csk-bench "CEREBRAS_BASE_URL=$upstream_url/v1" UPSTREAM_VERIFY_TLS=false GATEWAY_API_KEYS=k \
        PROMPT_TUNING=false LOG_LEVEL=warning "ENV_FILE=$work/empty.env" MAX_CONCURRENT_UPSTREAM=4096 \
        GNUTLS_NO_IMPLICIT_INIT=1 WORKERS=2 HOST=127.0.0.1 "PORT=$started_port" "ADMIN_PORT=$(free_port)" \
        "$binary" >"$work/$name.out" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$started_port/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$started_port/health" >/dev/null || { echo "the $name did not start" >&2; exit 1; }
}
start_gateway "$gateway" gateway
gateway_port=$started_port gateway_pid=$started_pid
if [[ -n $baseline ]]; then
    start_gateway "$baseline" baseline
    baseline_port=$started_port baseline_pid=$started_pid
fi

# The arm's processes: the master (which idles) and its workers.
tree() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
ticks() { # pids… → "utime stime" summed
    local pid u s tu=0 ts=0
    for pid in "$@"; do
        read -r u s < <(awk '{print $14, $15}' "/proc/$pid/stat")
        tu=$((tu + u)) ts=$((ts + s))
    done
    echo "$tu $ts"
}

results=$work/results.txt
: >"$results"
measure() { # arm connections
    local arm=$1 connections=$2 url api key requests procs u0 s0 u1 s1
    case $arm in
    direct) url=http://127.0.0.1:$fake_port api=openai key=csk-bench procs=${pids[0]} ;;
    nginx) url=$nginx_url api=openai key=csk-bench procs=$(tree "$nginx_pid") ;;
    gateway) url=http://127.0.0.1:$gateway_port api=anthropic key=k procs=$(tree "$gateway_pid") ;;
    baseline) url=http://127.0.0.1:$baseline_port api=anthropic key=k procs=$(tree "$baseline_pid") ;;
    esac
    requests=$([[ $connections == 1 ]] && echo "$requests_c1" || echo "$requests_c16")
    "$bin/gateway-bench" load --url "$url" --api "$api" --key "$key" "${scenario[@]}" "${fields[@]}" --connections 4 \
        --requests "$warmup" >/dev/null 2>&1
    # shellcheck disable=SC2086 # a list of pids
    read -r u0 s0 < <(ticks $procs)
    "$bin/gateway-bench" load --url "$url" --api "$api" --key "$key" "${scenario[@]}" "${fields[@]}" \
        --connections "$connections" \
        --requests "$requests" >"$work/load.json" 2>/dev/null
    # shellcheck disable=SC2086
    read -r u1 s1 < <(ticks $procs)
    python3 - "$arm" "$connections" "$requests" "$hz" "$u0" "$s0" "$u1" "$s1" "$work/load.json" <<'PY' | tee -a "$results"
import json, sys
arm, connections, requests, hz, u0, s0, u1, s1, load = sys.argv[1:]
requests, hz = int(requests), float(hz)
user = (int(u1) - int(u0)) / hz * 1e6 / requests
system = (int(s1) - int(s0)) / hz * 1e6 / requests
report = json.load(open(load))
print(f"{arm} c={connections}: user {user:.1f} us, system {system:.1f} us, CPU {user + system:.1f} us per request; "
      f"{report['ok']} ok, p50 {report['latency_us'].get('p50', 0):.0f} us")
PY
}

for round in $(seq "$rounds"); do
    echo "-- round $round"
    builds=(gateway)
    if [[ -n $baseline ]]; then
        # The two builds take turns at going first, so that neither always follows the other's load.
        if ((round % 2)); then builds=(gateway baseline); else builds=(baseline gateway); fi
    fi
    for connections in 1 16; do
        measure direct "$connections"
        measure nginx "$connections"
        for build in "${builds[@]}"; do measure "$build" "$connections"; done
    done
done

python3 - "$results" <<'PY'
import re, statistics, sys
cpu, latency = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) c=(\d+): user ([\d.]+) us, system ([\d.]+) us, CPU ([\d.]+) us per request; \d+ ok, p50 (\d+) us", line)
    if m:
        key = (m.group(1), int(m.group(2)))
        cpu.setdefault(key, []).append((float(m.group(3)), float(m.group(4)), float(m.group(5))))
        latency.setdefault(key, []).append(float(m.group(6)))
print("\nmedians (us per request; the direct arm's CPU is the fake's):")
median = {}
for key in sorted(cpu):
    user, system, total = (statistics.median(v[i] for v in cpu[key]) for i in range(3))
    median[key] = total
    p50 = statistics.median(latency[key])
    direct = statistics.median(latency.get(("direct", key[1]), [p50]))
    print(f"  {key[0]:8} c={key[1]:<3} user {user:6.1f}  system {system:6.1f}  CPU {total:6.1f}  "
          f"p50 {p50:6.0f}  added p50 {p50 - direct:6.0f}")
for arm in ("nginx", "gateway"):
    if (arm, 1) in median and (arm, 16) in median:
        print(f"  {arm}: CPU at c=1 / CPU at c=16 = {median[(arm, 1)] / median[(arm, 16)]:.2f}x")
for connections in (1, 16):
    if ("nginx", connections) in median and ("gateway", connections) in median:
        print(f"  c={connections}: gateway / nginx = {median[('gateway', connections)] / median[('nginx', connections)]:.2f}x")
    if ("nginx", connections) in median and ("baseline", connections) in median:
        print(f"  c={connections}: baseline / nginx = {median[('baseline', connections)] / median[('nginx', connections)]:.2f}x")
# The two builds round by round (the lines come in round order): CPU and added latency, each round's pair.
for connections in (1, 16):
    new, old = cpu.get(("gateway", connections), []), cpu.get(("baseline", connections), [])
    if not new or not old:
        continue
    pairs = [n[2] / o[2] for n, o in zip(new, old)]
    print(f"  c={connections}: gateway / baseline CPU per round " + ", ".join(f"{p:.2f}x" for p in pairs)
          + f"; median {statistics.median(pairs):.2f}x")
    direct = latency.get(("direct", connections), [])
    new_added = [n - d for n, d in zip(latency[("gateway", connections)], direct)]
    old_added = [o - d for o, d in zip(latency[("baseline", connections)], direct)]
    print(f"  c={connections}: added p50 per round, gateway " + ", ".join(f"{a:.0f}" for a in new_added)
          + " us, baseline " + ", ".join(f"{a:.0f}" for a in old_added)
          + f" us; medians {statistics.median(new_added):.0f} and {statistics.median(old_added):.0f} us")
PY
