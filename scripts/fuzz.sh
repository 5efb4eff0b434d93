#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the gateway's pure translation code.
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--no-build] [target…]
#
# Targets (checks in Fuzz/Sources/FuzzChecks, entry points Fuzz/Sources/<Target>; default: all four):
#   request  FuzzRequest  client body → JSONParser → MessagesRequest → AnthropicToOpenAI → upstream JSON bytes,
#                         plus TokenEstimator, and the same through the tool list memo (held to the plain path).
#   stream   FuzzStream   Cerebras SSE body → UpstreamStreamTranslator → Anthropic events (grammar, whole vs.
#                         line/byte/fuzzer-chosen cuts) → SSEWriter and AnthropicMessageFold; feedCompletion.
#   control  FuzzControl  ControlLineBuffer/ControlMessage lines, heartbeat MetricsSnapshot + PrometheusText.
#   http     FuzzHTTP     client bytes → RequestParser (heads, bodies, chunked framing, pipelining), whole vs.
#                         byte/fuzzer-chosen cuts.
#
# Each target runs for N seconds (default 60) with -max_len=65536 -timeout=10 -rss_limit_mb=2048. Before
# fuzzing, every regression input under Tests/Fixtures/fuzz-*/ is replayed once. The script exits non-zero on
# the first crash, leak, timeout or invariant violation and prints the reproducer's path; replay it with
#   .build-fuzz/bin/FuzzStream .build-fuzz/artifacts/stream/crash-…
# and minimise it with
#   .build-fuzz/bin/FuzzStream -minimize_crash=1 -runs=100000 -exact_artifact_path=min.sse crash-…
#
# Layout (all under .build-fuzz/, never committed):
#   pkg/          scratch SwiftPM package: Package.swift copied from Fuzz/, Fuzz -> ../../Fuzz, and Gateway/ a
#                 snapshot of Sources/{Shared,CHiredis,CCrypto,CPlatform} taken at build time
#   build/        SwiftPM scratch path;  bin/  the fuzz executables
#   corpus-<t>/   the working corpus: seeded from the golden fixtures (Tests/Fixtures/*/anthropic.request.json,
#                 openai.stream.sse, openai.response.json) and Fuzz/seeds/, then grown by libFuzzer. It is kept
#                 between runs, so repeated runs go deeper.
#   artifacts/<t>/ crash-*, leak-*, timeout-*, oom-* reproducers;  logs/<t>.log  libFuzzer's output.
#
# A longer campaign, e.g. before a release or after touching Sources/Shared/{JSON,SSE,Translation,Schemas}:
#   scripts/fuzz.sh --seconds 3600                  # one hour per target, sequentially
#   scripts/fuzz.sh --seconds 3600 --jobs 2 stream  # two libFuzzer workers on one target (-fork=2)
# Environment: FUZZ_IGNORE=tool-name,…  silences a stream-grammar violation kind already reported;
#   FUZZ_STRICT_TOOL_JSON=1  also requires tool_use input deltas to concatenate to valid JSON;
#   FUZZ_ARGS="…"  extra libFuzzer flags (e.g. "-only_ascii=1" or "-use_value_profile=1").
#
# Toolchain notes (Swift 6.3 on Linux): `-sanitize=fuzzer` links compiler-rt's libFuzzer from the Swift
# toolchain; SwiftPM links executables with `--defsym main=<Module>_main`, so each target has a main.swift
# that calls LLVMFuzzerRunDriver (Fuzz/Sources/CFuzzerDriver) instead of using libFuzzer's main; gold fails
# on the instrumented link ("internal error in format_file_lineno"), so the link uses the toolchain's lld.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds=60
jobs=1
build=1
targets=()
while (($#)); do
    case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    request|stream|control|http) targets+=("$1"); shift ;;
    *) echo "unknown argument: $1 (targets: request stream control http)" >&2; exit 2 ;;
    esac
done
((${#targets[@]})) || targets=(request stream control http)

work="$root/.build-fuzz"
mkdir -p "$work/pkg" "$work/bin" "$work/logs"

executable() {
    case "$1" in
    request) echo FuzzRequest ;;
    stream) echo FuzzStream ;;
    control) echo FuzzControl ;;
    http) echo FuzzHTTP ;;
    esac
}

if ((build)); then
    scripts/install-deps.sh
    # The scratch package: SwiftPM requires target sources under the package root. The fuzz sources are a
    # symlink; the gateway's sources are a snapshot (copied with their mtimes, so rebuilds stay incremental),
    # because other work editing Sources/ mid-build makes swiftc abort ("modified during the build").
    ln -sfn ../../Fuzz "$work/pkg/Fuzz"
    [[ -L "$work/pkg/Gateway" ]] && rm "$work/pkg/Gateway"
    mkdir -p "$work/pkg/Gateway"
    for module in Shared CHiredis CCrypto CPlatform; do
        rm -rf "$work/pkg/Gateway/$module.new"
        cp -a "$root/Sources/$module" "$work/pkg/Gateway/$module.new"
        if [[ -d "$work/pkg/Gateway/$module" ]] && diff -rq "$work/pkg/Gateway/$module" "$work/pkg/Gateway/$module.new" >/dev/null; then
            rm -rf "$work/pkg/Gateway/$module.new"
        else
            rm -rf "$work/pkg/Gateway/$module"
            mv "$work/pkg/Gateway/$module.new" "$work/pkg/Gateway/$module"
        fi
    done
    cp "$root/Fuzz/Package.swift" "$work/pkg/Package.swift"
    [[ -f "$work/pkg/Package.resolved" ]] || cp "$root/Package.resolved" "$work/pkg/Package.resolved"
    echo "== building fuzz targets (release, -sanitize=fuzzer,address)" >&2
    swift build -c release --package-path "$work/pkg" --scratch-path "$work/build" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xswiftc -g >&2
    bin_path="$(swift build -c release --package-path "$work/pkg" --scratch-path "$work/build" --show-bin-path)"
    for t in "${targets[@]}"; do
        ln -sfn "$bin_path/$(executable "$t")" "$work/bin/$(executable "$t")"
    done
fi

# The Swift runtime's own crash backtracer would race libFuzzer's deadly-signal handler (and can hang the run).
export SWIFT_BACKTRACE=enable=no
symbolizer="$(command -v llvm-symbolizer || true)"
[[ -n "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1}"

seed_corpus() {
    local target="$1" corpus="$work/corpus-$1"
    mkdir -p "$corpus"
    local files=()
    case "$target" in
    request) files=("$root"/Tests/Fixtures/*/anthropic.request.json) ;;
    stream) files=("$root"/Tests/Fixtures/*/openai.stream.sse "$root"/Tests/Fixtures/*/openai.response.json) ;;
    control) files=("$root"/Fuzz/seeds/control/*) ;;
    http) files=("$root"/Fuzz/seeds/http/*) ;;
    esac
    for f in "${files[@]}"; do
        [[ -f "$f" ]] || continue
        local case_dir
        case_dir="$(basename "$(dirname "$f")")"
        cp -f "$f" "$corpus/seed-$case_dir-$(basename "$f")"
    done
}

# Regression inputs (Tests/Fixtures/fuzz-*/) that belong to a target.
regressions() {
    local target="$1" pattern
    case "$target" in
    request) pattern='anthropic.request.json' ;;
    stream) pattern='openai.stream.sse openai.response.json' ;;
    control) pattern='control.lines' ;;
    http) pattern='client.http' ;;
    esac
    for dir in "$root"/Tests/Fixtures/fuzz-*/; do
        [[ -d "$dir" ]] || continue
        for name in $pattern; do
            [[ -f "$dir$name" ]] && echo "$dir$name"
        done
    done
    return 0
}

status=0
for t in "${targets[@]}"; do
    exe="$work/bin/$(executable "$t")"
    [[ -x "$exe" ]] || { echo "missing $exe (run without --no-build)" >&2; exit 1; }
    seed_corpus "$t"
    artifacts="$work/artifacts/$t"
    mkdir -p "$artifacts"
    log="$work/logs/$t.log"
    dict="$root/Fuzz/$t.dict"

    mapfile -t replay < <(regressions "$t")
    if ((${#replay[@]})); then
        echo "== $t: replaying ${#replay[@]} regression input(s) from Tests/Fixtures/fuzz-*/" >&2
        if ! "$exe" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "${replay[@]}" >"$log.replay" 2>&1; then
            echo "FAIL: $t regression input crashes:" >&2
            grep -E "FUZZ INVARIANT|ERROR: |Fatal error|Running: " "$log.replay" | tail -n 5 >&2 || true
            echo "log: $log.replay" >&2
            status=1
            # Fuzz on anyway: other bugs may hide behind a known one (see FUZZ_IGNORE in Fuzz/README.md).
        fi
    fi

    echo "== $t: fuzzing for ${seconds}s (corpus $work/corpus-$t, log $log)" >&2
    before=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
    args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" -print_final_stats=1
          -artifact_prefix="$artifacts/" -dict="$dict")
    ((jobs > 1)) && args+=(-fork="$jobs" -ignore_crashes=0)
    # shellcheck disable=SC2086
    if "$exe" "${args[@]}" ${FUZZ_ARGS:-} "$work/corpus-$t" >"$log" 2>&1; then
        rc=0
    else
        rc=$?
    fi
    grep -E "^#[0-9]+[[:space:]]+(DONE|pulse)" "$log" | tail -n 1 >&2 || true
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$log" >&2 || true
    artifact="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //' || true)"
    after=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
    if ((rc != 0)) || [[ -n "$artifact" ]] || ((after > before)); then
        echo "FAIL: $t found a problem (exit $rc)" >&2
        grep -E "FUZZ INVARIANT|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|Fatal error|SUMMARY" "$log" | head -n 5 >&2 || true
        [[ -n "$artifact" ]] || artifact="$(find "$artifacts" -maxdepth 1 -type f -printf '%T@ %p\n' | sort -rn | head -n 1 | cut -d' ' -f2-)"
        echo "artifact: $artifact" >&2
        echo "log: $log" >&2
        status=1
    else
        echo "ok: $t" >&2
    fi
done
exit "$status"
