#!/usr/bin/env bash
# Runs the Swift test suite under a compiler sanitizer.
#
#   scripts/sanitizers.sh [address|thread] [extra `swift test` arguments…]
#
# address (default): `swift test --sanitize=address` in its own scratch dir (.build-asan), the whole suite.
#   AddressSanitizer instruments every load/store of the gateway, its tests and the Swift/NIO dependencies
#   and reports heap/stack buffer overflows, use-after-free, double free and invalid pointer arithmetic —
#   the bugs that matter where this code is NOT memory-safe Swift: the Unsafe(Raw)BufferPointer fast
#   paths of the JSON parser/writer and SSE parser, the C shims (CCurl, CHiredis, CCrypto) and the
#   buffers handed to libcurl/hiredis/OpenSSL. LeakSanitizer is on too (detect_leaks=1) and reports heap
#   blocks still unreachable at exit (e.g. a curl easy handle or a retained Swift box never released).
#
# thread: `swift test --sanitize=thread` in .build-tsan, filtered to WorkerTests (override with
#   --filter …): these drive the worker over real sockets. Each event loop drives its own curl handle, so
#   curl's callbacks run on the loop; the threads that meet are the tests' own (which call clients and
#   runtimes from outside and hop onto the loop), the accept thread, and the loops of a multi-loop worker.
#   ThreadSanitizer reports data races on memory touched from two threads without a happens-before
#   edge (a lock, a queue hop, an atomic), lock-order inversions, and use of a mutex after destroy.
#
# Caveats seen with Swift 6.3 on Linux:
# - Gateway processes that MasterTests spawn get a scrubbed environment (GatewayProcess.baseEnvironment), so
#   they run with ASan's defaults whatever ASAN_OPTIONS says here: leak checking on, reports on their stderr
#   (in this script's output, not in the report files), and LeakSanitizer's exit-time report turns a clean
#   exit into a failure (e.g. MasterStreamingTests.testSIGTERMLetsEveryStreamInFlightFinish expects 0).
#   Those exit-time "leaks" (SocketAddress boxes of the control link, the argument array, a 4 KiB read buffer
#   of String(contentsOfFile:)) are a few hundred bytes that do not grow with load.
# - LeakSanitizer groups reference cycles under "Indirect leak": count them per request (run a test that makes
#   N requests and see whether the count scales with N) before calling one a leak.
# - ThreadSanitizer does not see the standard library's `Synchronization.Mutex` on Linux: two threads' accesses under
#   one are reported as a race (a 20-line program counting under a `Mutex` from two threads gets the reports and the
#   exact count). The fake upstream uses NIO's `NIOLockedValueBox` for that reason; the master's `Mutex`es would be
#   reported the same way if its tests ran under this script.
# - Under ThreadSanitizer everything is 5–15× slower: timing-based tests can time out (the slow-reader
#   backpressure test streams 30 MB and takes ~2.5 min alone).
#
# Each variant keeps its own scratch path so it never invalidates the normal .build. A first build is
# slow (the dependencies are rebuilt instrumented): expect 10–25 minutes on 2 cores. Exits with the
# status of `swift test` (non-zero too when the test process wrote a report); the test process's reports
# are kept in .build-<san>/report.<pid> and summarised at the end by the first frame in Sources/.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-address}"
[[ $# -gt 0 ]] && shift

case "$kind" in
address|asan)
    scratch=.build-asan
    san=address
    # halt_on_error=0 would hide the first report among later ones; keep ASan's default (stop at the first).
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$PWD/$scratch/report}"
    filter=()
    ;;
thread|tsan)
    scratch=.build-tsan
    san=thread
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$PWD/$scratch/report}"
    filter=(--filter WorkerTests)
    for arg in "$@"; do [[ "$arg" == --filter ]] && filter=(); done
    ;;
*)
    echo "usage: $0 [address|thread] [swift test arguments…]" >&2
    exit 2
    ;;
esac

scripts/install-deps.sh --test
mkdir -p "$scratch"
rm -f "$scratch"/report.*

echo "== swift build --build-tests --sanitize=$san --scratch-path $scratch"
swift build --build-tests --sanitize="$san" --scratch-path "$scratch"
echo "== swift test --sanitize=$san ${filter[*]} $*"
status=0
swift test --skip-build --sanitize="$san" --scratch-path "$scratch" "${filter[@]}" "$@" || status=$?

# The test process's reports (log_path above). Gateway processes that the tests spawn get a scrubbed
# environment (Tests/MasterTests/Support/GatewayProcess.swift) and so report on their stderr, in the output.
reports=("$scratch"/report.*)
if [[ -e "${reports[0]}" ]]; then
    echo "== $san sanitizer reports (${#reports[@]} file(s)); summary by the first frame in Sources/:" >&2
    for r in "${reports[@]}"; do
        echo "--- $r" >&2
        grep -E "^(==[0-9]+==)?(ERROR|WARNING): |^SUMMARY: " "$r" | sort | uniq -c >&2 || true
        # Blocks grouped by their first frame in this repository's Sources/ (leaks: bytes and objects summed).
        awk -v root="$PWD/Sources/" '
            function flush() {
                if (head == "") return
                key = head " @ " (frame == "" ? "(no frame in Sources/)" : frame)
                count[key]++; bytes[key] += b; objects[key] += o
            }
            /^(Direct|Indirect) leak of|^WARNING: ThreadSanitizer|^==[0-9]+==ERROR: AddressSanitizer/ {
                flush(); frame = ""; b = 0; o = 0
                if ($0 ~ /leak of/) { head = $1 " leak"; b = $4; o = $(NF-3) } else { head = $0; sub(/ \(pid=[0-9]+\)/, "", head); sub(/^==[0-9]+==/, "", head) }
                next
            }
            frame == "" && index($0, root) { frame = "Sources/" substr($0, index($0, root) + length(root)) }
            END {
                flush()
                for (k in count) printf "%6d× %10d B %6d obj  %s\n", count[k], bytes[k], objects[k], k
            }
        ' "$r" | sort -k2 -rn | head -n 40 >&2
        echo "(full report: $r)" >&2
    done
    [[ $status -eq 0 ]] && status=1
fi
exit "$status"
