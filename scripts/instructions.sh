#!/usr/bin/env bash
# User-space instructions per request or per relayed chunk of gateway binaries, counted by valgrind's callgrind.
#
# Instruction counts are steady where times are not (this project's benchmark host is shared and noisy): two runs of
# one binary agree within a fraction of a per cent, so a change of one or two per cent between builds is real. They
# leave out the kernel (system calls, wake-ups), which `scripts/bench.sh` and `perf stat` measure.
#
#   scripts/instructions.sh [BIN ...]          default: the benchmark build, .build-bench/release/cerebras-gateway
#
#   INSTRUCTIONS_MODE=request|stream           request (default): non-streaming requests at concurrency 1;
#                                              stream: 10 concurrent streams of 50 chunks at 20 ms pacing
#   INSTRUCTIONS_COUNT=N                       requests (default 2000) or streams (default 100) measured
#   INSTRUCTIONS_CONNECTIONS=C                 request mode's concurrency (default 1); under callgrind the worker runs
#                                              some 50x slower, so C > 1 fills each loop round with about C requests
#   INSTRUCTIONS_BODY=FILE                     send this Anthropic body instead of a small prompt (e.g.
#                                              Tests/Fixtures/claude-code-request/anthropic.request.json)
#   INSTRUCTIONS_LOAD_ARGS="…"                 more `gateway-bench load` options for the measured requests, e.g.
#                                              "--temperature 0 --unique" (cacheable, every one a cache miss)
#   INSTRUCTIONS_KEEP=DIR                      keep each binary's profile as DIR/callgrind.<binary name>, to read
#                                              with `callgrind_annotate --inclusive=yes DIR/callgrind.<name>`
#   REDIS_TIMEOUT_MS=N                         the worker's Redis timeout, 60000 here by default: under callgrind a
#                                              worker is so slow that the gateway's own default (50 ms) drops the
#                                              connection and requests fail open, which is not the path to measure
#
# A run in which the worker logs a warning or an error says so on stderr: its figure is not the usual path's.
# The measured worker inherits the environment, so gateway settings (TOOL_MEMO_ENTRIES=0, say) apply to it, and
# LD_LIBRARY_PATH=<dir> makes it load a libcurl.so.4 from <dir>: one built with symbols from the distribution's own
# curl source names curl's functions in the profile (BENCHMARKS.md, "Eleventh round").
#
# Each binary runs as one standalone worker (`cerebras-gateway worker --standalone`) under callgrind against the
# fake upstream; counters are zeroed after 200 warm-up requests, so start-up is not counted. Needs valgrind
# (installed with apt-get when missing) and the benchmark build of fake-cerebras and gateway-bench
# (`scripts/build.sh --release --scratch-path .build-bench --product fake-cerebras --product gateway-bench`). Valgrind cannot read the DWARF 5
# debug information of Swift 6 binaries, so each binary is measured through a copy without it (symbols kept).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

mode=${INSTRUCTIONS_MODE:-request}
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
stream)
    count=${INSTRUCTIONS_COUNT:-100}
    chunks_per_unit=50
    load=(--stream --scenario "paced;chunks=50;interval_ms=20" --connections 10 --requests "$count")
    unit=chunk
    ;;
*)
    echo "INSTRUCTIONS_MODE must be request or stream" >&2
    exit 2
    ;;
esac
body=()
[[ -z ${INSTRUCTIONS_BODY:-} ]] || body=(--body-file "$INSTRUCTIONS_BODY")

for tool in "$bench_bin" "$fake_bin"; do
    [[ -x $tool ]] || { echo "missing $tool: build the benchmark products first (see BENCHMARKS.md)" >&2; exit 2; }
done
if ! command -v valgrind >/dev/null 2>&1; then
    sudo_cmd=$([[ $(id -u) == 0 ]] || echo sudo)
    $sudo_cmd apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends valgrind >&2
fi

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
pids+=($!)
fake_port=$(wait_for_line "$work/fake.out" '^LISTENING' 10 | awk '{print $2}')
: >"$work/empty.env"

for binary in "${binaries[@]}"; do
    name=$binary
    objcopy --strip-debug "$binary" "$work/measured"
    env CEREBRAS_API_KEY=csk-bench "CEREBRAS_BASE_URL=http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=bench-key \
        PROMPT_TUNING=false LOG_LEVEL=warning MAX_CONCURRENT_UPSTREAM=4096 "ENV_FILE=$work/empty.env" \
        "REDIS_TIMEOUT_MS=${REDIS_TIMEOUT_MS:-60000}" \
        GNUTLS_NO_IMPLICIT_INIT=1 \
        valgrind --tool=callgrind "--callgrind-out-file=$work/callgrind.%p" \
        "$work/measured" worker --standalone --host 127.0.0.1 --port 0 >"$work/worker.out" 2>"$work/worker.err" &
    worker=$!
    pids+=("$worker")
    port=$(wait_for_line "$work/worker.out" '^LISTENING' 120 | awk '{print $2}')
    url=http://127.0.0.1:$port
    "$bench_bin" load --url "$url" --api anthropic --key bench-key "${body[@]}" --connections 1 --requests 200 --duration 120 \
        --grace 30 >/dev/null 2>&1
    callgrind_control --zero "$worker" >/dev/null 2>&1
    # shellcheck disable=SC2086 # the extra options are split into words on purpose
    "$bench_bin" load --url "$url" --api anthropic --key bench-key "${body[@]}" "${load[@]}" ${INSTRUCTIONS_LOAD_ARGS:-} \
        --duration 600 --grace 60 \
        >"$work/load.json" 2>/dev/null
    callgrind_control --dump "$worker" >/dev/null 2>&1
    kill "$worker"
    wait "$worker" 2>/dev/null || true
    # The dump after the load is the file with part number 1 (the other is written at exit).
    instructions=$(awk '/^summary:/{print $2}' "$work/callgrind.$worker.1")
    ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/load.json")
    per_unit=$((instructions / count / chunks_per_unit))
    printf '%s: %s instructions per %s (%s of %s %ss answered)\n' "$name" "$per_unit" "$unit" "$ok" "$count" \
        "$([[ $mode == request ]] && echo request || echo stream)"
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
