# Sourced by the benchmark scripts: a scratch directory, a list of processes stopped (by PID) on exit, and the fake
# upstream started on a free loopback port. Needs $bin (the directory holding fake-cerebras); sets $work, $pids,
# $fake_port. Also two helpers: `install_if_missing` and `start_standalone_worker`.
# shellcheck shell=bash
# shellcheck disable=SC2154 # $bin is the sourcing script's
: "${bin:?set bin to the directory holding fake-cerebras before sourcing fake_upstream.sh}"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin/fake-cerebras" --port 0 --host 127.0.0.1 --threads 1 > "$work/fake.out" 2>/dev/null &
pids+=($!)
sleep 0.5
fake_port=$(awk '{print $2}' "$work/fake.out")

# shellcheck source=Benchmarks/scripts/script_helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/script_helpers.sh"

# Starts `COMMAND… worker --standalone` against the fake (COMMAND: a gateway binary, or a wrapper such as valgrind
# and its options before one), with the environment the scripts measure in (which it also inherits, so gateway
# settings such as REDIS_URL apply; GLIBC_TUNABLES, unless set, is what a master gives its workers), and waits up
# to SECONDS for it to listen. Sets $worker (its pid, added to $pids) and $worker_port; its output goes to
# $work/worker.out. Returns 1 when it does not listen in time.
start_standalone_worker() { # seconds command...
    local seconds=$1 _
    shift
    : >"$work/empty.env"
    : >"$work/worker.out"
    env CEREBRAS_API_KEY=csk-bench "CEREBRAS_BASE_URL=http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=k \
        PROMPT_TUNING=false LOG_LEVEL=warning "ENV_FILE=$work/empty.env" MAX_CONCURRENT_UPSTREAM=4096 \
        GNUTLS_NO_IMPLICIT_INIT=1 "GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.tcache_count=64}" \
        "$@" worker --standalone --host 127.0.0.1 --port 0 >"$work/worker.out" 2>&1 &
    worker=$!
    pids+=("$worker")
    for _ in $(seq $((seconds * 10))); do grep -q LISTENING "$work/worker.out" && break; sleep 0.1; done
    worker_port=$(awk '/LISTENING/{print $2}' "$work/worker.out")
    [[ -n $worker_port ]]
}
