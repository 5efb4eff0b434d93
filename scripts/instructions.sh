#!/usr/bin/env bash
# User-space instructions per request or per relayed chunk of gateway binaries, counted by valgrind's callgrind.
#
# Instruction counts are steady where times are not (this project's benchmark host is shared and noisy): on a quiet
# machine two runs of one binary agree within about 0.1 % per request, so a change of one or two per cent between
# builds is real (per chunk within about 3 %: the streams are paced by the clock, so run each build several times).
# Other work beside the run moves them (by about 1 %: the worker finds more requests waiting at each wake-up); the
# script says so when other processes kept a tenth of a core or more busy. They leave out the kernel (system calls,
# wake-ups), which `scripts/bench.sh` and `perf stat` measure.
#
#   scripts/instructions.sh [BIN ...]          default: the benchmark build, .build-bench/release/cerebras-gateway
#
#   INSTRUCTIONS_MODE=request|stream|tools     request (default): non-streaming requests at concurrency 1;
#                                              stream: 10 concurrent streams of 50 chunks at 20 ms pacing;
#                                              tools: the same streams with the 50 tokens as one tool call's
#                                              arguments (`paced;tool=1`), each an `input_json_delta` to the client
#   INSTRUCTIONS_COUNT=N                       requests (default 2000) or streams (default 100) measured
#   INSTRUCTIONS_CONNECTIONS=C                 request mode's concurrency (default 1); under callgrind the worker runs
#                                              some 50x slower, so C > 1 fills each loop round with about C requests
#   INSTRUCTIONS_BODY=FILE                     send this Anthropic body instead of a small prompt (e.g.
#                                              Tests/Fixtures/claude-code-request/anthropic.request.json)
#   INSTRUCTIONS_LOAD_ARGS="…"                 more `gateway-bench load` options for the measured requests, e.g.
#                                              "--temperature 0 --unique" (cacheable, every one a cache miss)
#   INSTRUCTIONS_LISTENER=standalone|inherited standalone (default): the worker binds its own socket; inherited:
#                                              it serves a listening socket it inherits, as under the master. Either
#                                              way its accept thread hands each connection to an event loop (since
#                                              the forty-second round; before it, NIO's server channel accepted for
#                                              a standalone worker, and a new connection cost less there)
#   INSTRUCTIONS_BURSTS=B                      run the measured load B times (default 1) after one more warm-up run of
#                                              it; with INSTRUCTIONS_CONNECTIONS=INSTRUCTIONS_COUNT each run is a burst
#                                              of new connections with one request each, and the warm-up leaves curl's
#                                              upstream connections open as the benchmark's first repetition does
#   INSTRUCTIONS_KEEP=DIR                      keep each binary's profile as DIR/callgrind.<binary name>, to read
#                                              with `callgrind_annotate --inclusive=yes DIR/callgrind.<name>`
#   INSTRUCTIONS_UPSTREAM=plain|tls|tls-h1     plain (default): the worker calls the fake over HTTP/1.1 in clear;
#                                              tls: through nginx in front of the fake, with TLS and HTTP/2 offered
#                                              (ALPN), the protocol the gateway speaks to api.cerebras.ai (nginx is
#                                              installed with apt-get when missing; its own work is not counted);
#                                              tls-h1: the same front offering HTTP/1.1 only
#   REDIS_TIMEOUT_MS=N                         the worker's Redis timeout, 60000 here by default: under callgrind a
#                                              worker is so slow that the gateway's own default (50 ms) drops the
#                                              connection and requests fail open, which is not the path to measure
#
# A run in which the worker logs a warning or an error says so on stderr: its figure is not the usual path's.
# The measured worker starts with the allocator setting a master gives its workers (GLIBC_TUNABLES, unless set: an
# empty value measures glibc's defaults). It inherits the environment, so gateway settings (TOOL_MEMO_ENTRIES=0,
# say) apply to it, and LD_LIBRARY_PATH=<dir> makes it load a libcurl.so.4 from <dir>: one built with symbols from
# the distribution's own curl source names curl's functions in the profile (BENCHMARKS.md, "Eleventh round").
#
# Each binary runs as one worker (`cerebras-gateway worker --standalone`, or on an inherited listener) under
# callgrind against the fake upstream; counters are zeroed after 200 warm-up requests, so start-up is not counted.
# Needs valgrind (installed with apt-get when missing) and the benchmark build of fake-cerebras and gateway-bench
# (`scripts/build.sh --release --scratch-path .build-bench --product fake-cerebras --product gateway-bench`).
# Valgrind cannot read the DWARF 5 debug information of Swift 6 binaries, so each binary is measured through a copy
# without it (symbols kept).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

mode=${INSTRUCTIONS_MODE:-request}
upstream=${INSTRUCTIONS_UPSTREAM:-plain}
if [[ $upstream != plain && $upstream != tls && $upstream != tls-h1 ]]; then
    echo "INSTRUCTIONS_UPSTREAM must be plain, tls or tls-h1" >&2
    exit 2
fi
listener=${INSTRUCTIONS_LISTENER:-standalone}
bursts=${INSTRUCTIONS_BURSTS:-1}
if [[ $listener != standalone && $listener != inherited ]]; then
    echo "INSTRUCTIONS_LISTENER must be standalone or inherited" >&2
    exit 2
fi
[[ $bursts =~ ^[1-9][0-9]*$ ]] || { echo "INSTRUCTIONS_BURSTS must be a positive number" >&2; exit 2; }
scratch=${BENCH_SCRATCH:-.build-bench}
bench_bin=$scratch/release/gateway-bench
fake_bin=$scratch/release/fake-cerebras
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=("$scratch/release/cerebras-gateway")
case $mode in
request)
    count=${INSTRUCTIONS_COUNT:-2000}
    chunks_per_unit=1
    load=(--connections "${INSTRUCTIONS_CONNECTIONS:-1}" --requests "$count")
    unit=request
    ;;
stream | tools)
    count=${INSTRUCTIONS_COUNT:-100}
    chunks_per_unit=50
    tool=""
    [[ $mode == tools ]] && tool=";tool=1"
    load=(--stream --scenario "paced;chunks=50;interval_ms=20$tool" --connections 10 --requests "$count")
    unit=chunk
    ;;
*)
    echo "INSTRUCTIONS_MODE must be request, stream or tools" >&2
    exit 2
    ;;
esac
body=()
[[ -z ${INSTRUCTIONS_BODY:-} ]] || body=(--body-file "$INSTRUCTIONS_BODY")

for tool in "$bench_bin" "$fake_bin"; do
    [[ -x $tool ]] || { echo "missing $tool: build the benchmark products first (see BENCHMARKS.md)" >&2; exit 2; }
done
# shellcheck source=Benchmarks/scripts/script_helpers.sh
source "$root/Benchmarks/scripts/script_helpers.sh"
install_if_missing valgrind valgrind
[[ $upstream == plain ]] || install_if_missing nginx nginx-light

work=$(mktemp -d /tmp/gateway-instructions.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

wait_for_line() {  # file pattern seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -m1 -E "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

"$fake_bin" --port 0 --host 127.0.0.1 --threads 1 >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
pids+=("$fake_pid")
fake_port=$(wait_for_line "$work/fake.out" '^LISTENING' 10 | awk '{print $2}')
: >"$work/empty.env"
upstream_url=http://127.0.0.1:$fake_port/v1
upstream_env=()
if [[ $upstream != plain ]]; then
    # shellcheck source=Benchmarks/scripts/nginx_proxy.sh
    source "$root/Benchmarks/scripts/nginx_proxy.sh"
    start_nginx_proxy "$work/nginx" "$fake_port" "$upstream"
    pids+=("$nginx_pid")
    wait_for_http "$nginx_url/" 10 || { echo "nginx did not start" >&2; exit 1; }
    upstream_url=$nginx_url/v1
    upstream_env=(UPSTREAM_VERIFY_TLS=false)
fi

launcher=()
worker_args=(worker --standalone --host 127.0.0.1 --port 0)
if [[ $listener == inherited ]]; then
    # Prints "PORT <port> PID <valgrind's pid>" and starts `… worker --slot 0 --generation 1` on fd 3 and 4.
    launcher=(python3 "$root/Benchmarks/scripts/inherited_listener.py")
    worker_args=()
fi

wait_for_health() {  # port seconds: the listener accepts before the worker serves, so ask until it answers
    python3 - "$@" <<'PY'
import sys, time, urllib.request
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=5)
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("the worker did not answer /health")
PY
}

measured_load() {
    # shellcheck disable=SC2086 # the extra options are split into words on purpose
    "$bench_bin" load --url "$url" --api anthropic --key bench-key "${body[@]}" "${load[@]}" \
        ${INSTRUCTIONS_LOAD_ARGS:-} --duration 600 --grace 60 --watch "worker=$worker" --watch "fake=$fake_pid" \
        2>/dev/null
}

for binary in "${binaries[@]}"; do
    name=$binary
    objcopy --strip-debug "$binary" "$work/measured"
    env CEREBRAS_API_KEY=csk-bench "CEREBRAS_BASE_URL=$upstream_url" "${upstream_env[@]}" GATEWAY_API_KEYS=bench-key \
        PROMPT_TUNING=false LOG_LEVEL=warning MAX_CONCURRENT_UPSTREAM=4096 "ENV_FILE=$work/empty.env" \
        "REDIS_TIMEOUT_MS=${REDIS_TIMEOUT_MS:-60000}" \
        GNUTLS_NO_IMPLICIT_INIT=1 "GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.tcache_count=64}" \
        "${launcher[@]}" valgrind --tool=callgrind "--callgrind-out-file=$work/callgrind.%p" \
        "$work/measured" "${worker_args[@]}" >"$work/worker.out" 2>"$work/worker.err" &
    launched=$!
    pids+=("$launched")
    if [[ $listener == standalone ]]; then
        worker=$launched
        port=$(wait_for_line "$work/worker.out" '^LISTENING' 120 | awk '{print $2}')
    else
        read -r _ port _ worker < <(wait_for_line "$work/worker.out" '^PORT' 10)
        pids+=("$worker")
        wait_for_health "$port" 120
    fi
    url=http://127.0.0.1:$port
    "$bench_bin" load --url "$url" --api anthropic --key bench-key "${body[@]}" --connections 1 --requests 200 \
        --duration 120 --grace 30 >/dev/null 2>&1
    [[ $bursts == 1 ]] || measured_load >/dev/null
    callgrind_control --zero "$worker" >/dev/null 2>&1
    ok=0
    foreign=0
    for ((burst = 0; burst < bursts; burst++)); do
        measured_load >"$work/load.json"
        read -r answered busy < <(python3 -c 'import json,sys; run = json.load(open(sys.argv[1]))
print(run["ok"], round(run.get("foreign_cpu_s", 0) / max(run.get("elapsed_s", 0), 1e-9), 2))' "$work/load.json")
        ok=$((ok + answered))
        # Cores' worth of other work while the load ran (the worker, the fake and the generator left out).
        foreign=$(python3 -c 'import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))' "$foreign" "$busy")
    done
    callgrind_control --dump "$worker" >/dev/null 2>&1
    kill "$worker"
    wait "$launched" 2>/dev/null || true
    # The dump after the load is the file with part number 1 (the other is written at exit).
    instructions=$(awk '/^summary:/{print $2}' "$work/callgrind.$worker.1")
    per_unit=$((instructions / (count * bursts) / chunks_per_unit))
    printf '%s: %s instructions per %s (%s of %s %ss answered)\n' "$name" "$per_unit" "$unit" "$ok" \
        "$((count * bursts))" "$([[ $mode == request ]] && echo request || echo stream)"
    # Other work on the machine changes the count: a worker that gets the cores less often finds more requests
    # waiting each time it wakes, and spends fewer instructions on each (about 1 % with two busy loops beside it).
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.1 else 1)' "$foreign"; then
        echo "  other processes kept $foreign cores busy while this ran: instruction counts move with the machine's" \
            "load, so compare figures measured on a quiet machine" >&2
    fi
    # A warning means the measured path was not the usual one (Redis unreachable, say, so requests failed open).
    warnings=$(cat "$work/worker.out" "$work/worker.err" | grep -c '"level":"\(warning\|error\|critical\)"' || true)
    if [[ $warnings -gt 0 ]]; then
        echo "  the worker logged $warnings warnings or errors during the run, so the figure above is not the" \
            "usual path's; the first:" >&2
        cat "$work/worker.out" "$work/worker.err" | grep -m1 '"level":"\(warning\|error\|critical\)"' >&2
    fi
    if [[ -n ${INSTRUCTIONS_KEEP:-} ]]; then
        mkdir -p "$INSTRUCTIONS_KEEP"
        cp "$work/callgrind.$worker.1" "$INSTRUCTIONS_KEEP/callgrind.$(basename "$name")"
    fi
    rm -f "$work"/callgrind.*
done
