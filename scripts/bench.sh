#!/usr/bin/env bash
# Side-by-side benchmark: the gateway against the fake upstream called directly, nginx and the LiteLLM proxy.
#
#   scripts/bench.sh                  full run: every scenario, 3 interleaved repetitions, medians (~17-19 min)
#   BENCH_QUICK=1 scripts/bench.sh    one repetition, shorter runs (~3-4 min)
#
# Everything listens on 127.0.0.1 only; every load run is bounded in requests and time. Writes the raw JSON to
# Benchmarks/results/<timestamp>.json and prints a Markdown report on stdout (progress goes to stderr).
#
# Environment (all optional):
#   GATEWAY_MODE=master|standalone   master: `cerebras-gateway --workers 2` (default); standalone: one worker
#   GATEWAY_BIN=path                 gateway binary (default $BENCH_SCRATCH/release/cerebras-gateway)
#   BASELINE_BIN=path                adds a `baseline` arm: another gateway binary (say, built from the commit before
#                                    an optimisation), run exactly like the gateway arm, so before/after is one run;
#                                    a directory names the cerebras-gateway in it, as the Benchmarks/scripts take it;
#                                    a copy of the gateway's own binary makes an A/A run (the report's per-repetition
#                                    gateway ÷ baseline pairs are then the machine's noise alone)
#   BENCH_SCRATCH=.build-bench       swift build scratch path for the release binaries
#   BENCH_REPS=N                     repetitions (default 3, quick 1)
#   BENCH_ARMS="direct nginx gateway gateway_redis litellm"
#                                    gateway_redis: the gateway binary with rate limiting and the cache on, in a
#                                    redis-server on loopback (started here; installed with apt-get when missing),
#                                    run only in ns_c16 and ns_miss: issue 7's "on ≥ 0.9× off" in the same run
#   BENCH_SCENARIOS="ns_c1 ns_c16 ns_miss ns_rate cc_c4 st100 st500 st_cerebras st_tools slow2000"
#                                    ns_miss: cacheable requests that all miss (temperature 0, every prompt new),
#                                    c=16, run by the gateway and gateway_redis arms only; st_tools: st_cerebras's
#                                    streams with the tokens as one tool call's arguments (an agent writing a file)
#   BENCH_SKIP_BUILD=1               use the binaries as they are
#   BENCH_SKIP_INSTALL=1             never apt-get / pip (arms whose tools are missing are skipped)
#   FAKE_THREADS=1                   event-loop threads of the fake upstream
#   GEN_THREADS=1                    event-loop threads of the load generator
#   LITELLM_VERSION=1.106.12         pinned: later 1.10x releases need a `litellm-proxy` wheel PyPI does not have
#   BENCH_KEEP_RUN_DIR=1             keep the temporary directory with every log
#   BENCH_QUIET_WAIT=120             seconds (quick: 20) to wait at most for other work on the machine to stop
#   BENCH_QUIET_CORES=0.5            "quiet" means fewer cores than this busy outside the benchmark
#   BENCH_IDLE_WAIT=20               seconds to wait at most after each run for the arm and the fake to go idle
#   BENCH_SETTLE_WAIT=15             seconds after the last run before memory is read once more (the gateway gives
#                                    freed memory back after IDLE_MEMORY_RELEASE_SECONDS, 10 by default, of quiet)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=Benchmarks/scripts/nginx_proxy.sh
source Benchmarks/scripts/nginx_proxy.sh

quick=${BENCH_QUICK:-0}
mode=${GATEWAY_MODE:-master}
scratch=${BENCH_SCRATCH:-.build-bench}
gateway_bin=${GATEWAY_BIN:-$scratch/release/cerebras-gateway}
baseline_bin=${BASELINE_BIN:-}
[[ -n $baseline_bin && -d $baseline_bin ]] && baseline_bin=$baseline_bin/cerebras-gateway
reps=${BENCH_REPS:-$([[ $quick == 1 ]] && echo 1 || echo 3)}
arms_wanted=${BENCH_ARMS:-direct nginx ${BASELINE_BIN:+baseline }gateway gateway_redis litellm}
scenarios=${BENCH_SCENARIOS:-ns_c1 ns_c16 ns_miss ns_rate cc_c4 st100 st500 st_cerebras st_tools slow2000}
fake_threads=${FAKE_THREADS:-1}
gen_threads=${GEN_THREADS:-1}
litellm_version=${LITELLM_VERSION:-1.106.12}
venv=$root/.build-bench/venv
bench_bin=$scratch/release/gateway-bench
fake_bin=$scratch/release/fake-cerebras

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started_at=$(date +%s)

run_dir=$(mktemp -d /tmp/gateway-bench.XXXXXX)
raw_lines=$run_dir/runs.jsonl
notes=$run_dir/notes.txt
: >"$raw_lines"
: >"$notes"
note() { log "NOTE: $*"; printf '%s\n' "$*" >>"$notes"; }

# ---------------------------------------------------------------------------------------------------------------
# Processes we start: stopped by pid (TERM, then KILL after a deadline), never by name.
pids_started=()
descendants() {
    local pid=$1 child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}
stop_pid() {
    local pid=$1 i all
    kill -0 "$pid" 2>/dev/null || return 0
    all="$pid $(descendants "$pid" | tr '\n' ' ')"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local i
    for ((i = ${#pids_started[@]} - 1; i >= 0; i--)); do stop_pid "${pids_started[$i]}"; done
    if [[ ${BENCH_KEEP_RUN_DIR:-0} == 1 ]]; then log "logs kept in $run_dir"; else rm -rf "$run_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_line() {  # file pattern seconds → prints the matching line
    local file=$1 pattern=$2 limit=$3 i
    for ((i = 0; i < limit * 10; i++)); do
        if grep -m1 -E "$pattern" "$file" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------------------------------------------
# Build and install
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < 8192)); then note "ulimit -n is $(ulimit -n): the 2,000-stream scenario may run out of descriptors"; fi

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    # Built like the binary users run (scripts/build.sh, which the Dockerfile runs too): the same compiler flags and
    # the Swift runtime static, so the CPU, memory and start-up figures are the shipped ones.
    log "scripts/build.sh --release --scratch-path $scratch (gateway-bench, fake-cerebras, cerebras-gateway)"
    scripts/build.sh --release --scratch-path "$scratch" \
        --product gateway-bench --product fake-cerebras --product cerebras-gateway >/dev/null
fi
for bin in "$bench_bin" "$fake_bin"; do
    [[ -x $bin ]] || { log "missing $bin (build it, or unset BENCH_SKIP_BUILD)"; exit 1; }
done

apt_install() {
    [[ ${BENCH_SKIP_INSTALL:-0} == 1 ]] && return 1
    local sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >&2
}

arms=()
for arm in $arms_wanted; do
    case $arm in
    direct) arms+=(direct) ;;
    nginx)
        if ! command -v nginx >/dev/null 2>&1; then
            log "installing nginx"
            apt_install nginx-light || apt_install nginx || true
        fi
        if command -v nginx >/dev/null 2>&1; then arms+=(nginx); else note "nginx arm skipped: nginx could not be installed"; fi
        ;;
    gateway)
        if [[ -x $gateway_bin ]]; then arms+=(gateway); else note "gateway arm skipped: $gateway_bin missing"; fi
        ;;
    gateway_redis)
        if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
            log "installing redis-server"
            apt_install redis-server || true
        fi
        if [[ ! -x $gateway_bin ]]; then
            note "gateway_redis arm skipped: $gateway_bin missing"
        elif command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
            arms+=(gateway_redis)
        else
            note "gateway_redis arm skipped: redis-server could not be installed"
        fi
        ;;
    baseline)
        if [[ -f $baseline_bin && -x $baseline_bin ]]; then
            arms+=(baseline)
        else
            note "baseline arm skipped: BASELINE_BIN '$baseline_bin' is not an executable file"
        fi
        ;;
    litellm)
        if [[ ! -x $venv/bin/litellm && ${BENCH_SKIP_INSTALL:-0} != 1 ]]; then
            log "installing litellm[proxy]==$litellm_version into $venv"
            { python3 -m venv "$venv" && "$venv/bin/pip" install -q "litellm[proxy]==$litellm_version"; } >&2 \
                || note "pip install litellm[proxy]==$litellm_version failed"
        fi
        if [[ -x $venv/bin/litellm ]]; then arms+=(litellm); else note "litellm arm skipped: not installed"; fi
        ;;
    *) log "unknown arm $arm"; exit 2 ;;
    esac
done

# ---------------------------------------------------------------------------------------------------------------
# The fake upstream, then every arm in front of it
log "starting fake-cerebras (threads $fake_threads)"
"$fake_bin" --port 0 --host 127.0.0.1 --threads "$fake_threads" >"$run_dir/fake.out" 2>"$run_dir/fake.err" &
fake_pid=$!
pids_started+=("$fake_pid")
fake_port=$(wait_for_line "$run_dir/fake.out" '^LISTENING' 20 | awk '{print $2}') || { log "fake did not start"; exit 1; }

declare -A arm_url arm_api arm_key arm_pid
arm_url[direct]=http://127.0.0.1:$fake_port
arm_api[direct]=openai
arm_key[direct]=csk-bench
arm_pid[direct]=""

start_nginx() {
    start_nginx_proxy "$run_dir/nginx" "$fake_port"
    arm_pid[nginx]=$nginx_pid
    pids_started+=("${arm_pid[nginx]}")
    arm_url[nginx]=$nginx_url
    arm_api[nginx]=openai
    arm_key[nginx]=csk-bench
    wait_for_http "${arm_url[nginx]}/" 20 || { note "nginx arm skipped: did not start"; return 1; }
}

start_gateway() { start_gateway_arm gateway "$gateway_bin"; }
start_baseline() { start_gateway_arm baseline "$baseline_bin"; }

# The gateway arm's binary and settings, plus the control plane in Redis: rate limiting with a limit no run reaches
# (every request still asks, as a busy tenant's would) and the response cache. RATE_LIMIT_TPM=0 leaves out the
# token correction after each answer, as Benchmarks/scripts/control_plane_overhead.sh does.
redis_pid=""
start_gateway_redis() {
    start_redis_server "$run_dir"
    pids_started+=("$redis_pid")
    wait_for_redis "$redis_port" 10 || { note "gateway_redis arm skipped: redis-server did not start"; return 1; }
    # A copy of the binary: the two arms' trees would otherwise share its pages, which splits each one's PSS.
    local copy=$run_dir/gateway_redis-bin/cerebras-gateway
    mkdir -p "${copy%/*}"
    cp "$gateway_bin" "$copy"
    start_gateway_arm gateway_redis "$copy" "REDIS_URL=redis://127.0.0.1:$redis_port/0" RATE_LIMIT_ENABLED=true \
        RATE_LIMIT_RPM=100000000 RATE_LIMIT_TPM=0 CACHE_ENABLED=true
}

start_gateway_arm() { # arm binary [more environment…]
    local arm=$1 bin=$2 out=$run_dir/$1.out line
    shift 2
    : >"$run_dir/empty.env"
    local -a env=(
        CEREBRAS_API_KEY=csk-bench "CEREBRAS_BASE_URL=http://127.0.0.1:$fake_port/v1" GATEWAY_API_KEYS=bench-key
        PROMPT_TUNING=false LOG_LEVEL=warning MAX_CONCURRENT_UPSTREAM=4096 "ENV_FILE=$run_dir/empty.env"
        GNUTLS_NO_IMPLICIT_INIT=1 # as the systemd unit, the Docker image and scripts/run.sh start the master
        "$@"
    )
    # From disk, not from the pages a build or a copy just wrote, whichever arm it is (see drop_from_page_cache).
    drop_from_page_cache "$bin" || note "$arm: could not drop $bin from the page cache; its idle memory may read high"
    if [[ $mode == master ]]; then
        env "${env[@]}" "$bin" --host 127.0.0.1 --port 0 --admin-port 0 --workers 2 \
            >"$out" 2>"$run_dir/$arm.err" &
    else
        env "${env[@]}" "$bin" worker --standalone --host 127.0.0.1 --port 0 >"$out" 2>"$run_dir/$arm.err" &
    fi
    arm_pid[$arm]=$!
    pids_started+=("${arm_pid[$arm]}")
    if [[ $mode == master ]]; then
        line=$(wait_for_line "$out" '^READY ' 30) || {
            note "$arm arm skipped: master printed no READY line ($(tail -c 400 "$run_dir/$arm.err" | tr '\n' ' '))"
            return 1
        }
        arm_url[$arm]=http://127.0.0.1:$(sed -E 's/^READY port=([0-9]+).*/\1/' <<<"$line")
    else
        line=$(wait_for_line "$out" '^LISTENING' 30) || { note "$arm arm skipped: worker did not start"; return 1; }
        arm_url[$arm]=http://127.0.0.1:$(awk '{print $2}' <<<"$line")
    fi
    arm_api[$arm]=anthropic
    arm_key[$arm]=bench-key
}

start_litellm() {
    local port dir=$run_dir/litellm key
    port=$(free_port)
    mkdir -p "$dir"
    # LiteLLM refuses to start without a strong master key; it is sent as x-api-key like the gateway's.
    key="sk-bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    cat >"$dir/config.yaml" <<EOF
model_list:
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: openai/zai-glm-4.7
      api_base: http://127.0.0.1:$fake_port/v1
      api_key: csk-bench
  # The model Claude Code's request (the cc_c4 scenario's fixture) names.
  - model_name: claude-sonnet-4-5-20250929
    litellm_params:
      model: openai/zai-glm-4.7
      api_base: http://127.0.0.1:$fake_port/v1
      api_key: csk-bench
litellm_settings:
  drop_params: true
  telemetry: false
  # Without this LiteLLM sends /v1/messages for openai/ models to the Responses API (/v1/responses).
  use_chat_completions_url_for_anthropic_messages: true
general_settings:
  master_key: $key
EOF
    LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_TELEMETRY=False \
        "$venv/bin/litellm" --config "$dir/config.yaml" --host 127.0.0.1 --port "$port" --num_workers 2 \
        >"$dir/out.log" 2>&1 &
    arm_pid[litellm]=$!
    pids_started+=("${arm_pid[litellm]}")
    arm_url[litellm]=http://127.0.0.1:$port
    arm_api[litellm]=anthropic
    arm_key[litellm]=$key
    wait_for_http "${arm_url[litellm]}/health/liveliness" 120 || { note "litellm arm skipped: did not start"; return 1; }
}

live_arms=()
for arm in "${arms[@]}"; do
    case $arm in
    direct) live_arms+=(direct) ;;
    *)
        log "starting $arm"
        if "start_$arm"; then live_arms+=("$arm"); fi
        ;;
    esac
done
if ((${#live_arms[@]} == 0)); then
    log "no arm started (see the notes above): nothing to measure, no results written"
    exit 1
fi
log "arms: ${live_arms[*]} (fake on port $fake_port, gateway mode $mode)"

sleep 2
for arm in "${live_arms[@]}"; do
    pid=${arm_pid[$arm]:-$fake_pid}
    "$bench_bin" rss "$pid" | python3 -c "import json,sys; d=json.load(sys.stdin); d['arm']='$arm'; d['phase']='idle'; print(json.dumps(d))" \
        >>"$raw_lines"
done

# ---------------------------------------------------------------------------------------------------------------
# Scenarios. Streaming uses the fake's `paced` scenario: N one-token chunks `tok{i} ` at a fixed interval.
# Streaming runs start C×rounds streams but stop starting new ones after their duration; whatever is still
# running `grace` seconds later is aborted and counted, so a slow arm cannot stretch the run.
if [[ $quick == 1 ]]; then
    d_ns=2; probe=1; probes=5; st_req=1; slow_chunks=12; grace=8; cere_chunks=300
else
    d_ns=5; probe=1.5; probes=7; st_req=2; slow_chunks=20; grace=10; cere_chunks=500
fi
d_st=$((2 * st_req + 1))            # 100 chunks × 20 ms = 2 s per stream
d_slow=$((slow_chunks / 4 + 1))     # chunks × 250 ms

# scenario arm rep → one JSON line
run_one() {
    local scenario=$1 arm=$2 rep=$3
    local -a common=(--url "${arm_url[$arm]}" --api "${arm_api[$arm]}" --key "${arm_key[$arm]}" --threads "$gen_threads"
        --label "$scenario" --arm "$arm" --tag "rep=$rep" --watch "fake=$fake_pid")
    [[ -n ${arm_pid[$arm]:-} ]] && common+=(--watch "sut=${arm_pid[$arm]}")
    [[ $arm == gateway_redis ]] && common+=(--watch "redis=$redis_pid")
    local -a args
    case $scenario in
    ns_c1) args=(--connections 1 --duration "$d_ns" --grace 5) ;;
    ns_c16) args=(--connections 16 --duration "$d_ns" --grace 5) ;;
    ns_miss) args=(--connections 16 --duration "$d_ns" --grace 5 --temperature 0 --unique) ;;
    ns_rate) args=(--connections 64 --find-rate 10 --probe-duration "$probe" --max-probes "$probes" --grace 3) ;;
    cc_c4)
        # Claude Code's own request (77 KB: 17 tools, a long system prompt, a conversation), each one a new last
        # turn of the conversation, streamed, as Claude Code sends them (non-streamed before the forty-ninth round).
        args=(--body-file Tests/Fixtures/claude-code-request/anthropic.request.json --unique --stream --connections 4
            --duration "$d_ns" --grace 5)
        ;;
    st100 | st500)
        local c=${scenario#st}
        args=(--stream --scenario "paced;chunks=100;interval_ms=20" --connections "$c" --requests $((c * st_req))
            --duration "$d_st" --grace "$grace")
        ;;
    st_cerebras | st_tools)
        # st_tools: the tokens as lines of one tool call's arguments, `{"content":"tok0\ntok1\n…"}`, the bulk of
        # an agent's output (every file Claude Code writes arrives so).
        local tool=""
        [[ $scenario == st_tools ]] && tool=";tool=1"
        args=(--stream --scenario "paced;chunks=$cere_chunks;interval_ms=0.33$tool" --connections 100
            --requests $((100 * st_req)) --duration 2 --grace "$grace")
        ;;
    slow2000)
        args=(--stream --scenario "paced;chunks=$slow_chunks;interval_ms=250" --connections 2000 --requests 2000
            --duration "$d_slow" --grace "$grace" --sample-ms 100)
        ;;
    warmup) args=(--connections 4 --duration 1 --grace 5) ;;
    warmup_stream) args=(--stream --scenario "paced;chunks=50;interval_ms=1" --connections 8 --requests 16 --grace 5) ;;
    *) log "unknown scenario $scenario"; return 1 ;;
    esac
    local out
    if out=$("$bench_bin" load "${common[@]}" "${args[@]}" 2>>"$run_dir/bench.err"); then
        [[ $scenario == warmup* ]] || printf '%s\n' "$out" >>"$raw_lines"
        python3 - "$out" <<'EOF' >&2 || true
import json, sys
d = json.loads(sys.argv[1])
if d.get("mode") == "find_rate":
    print(f"    {d['arm']:8} {d['label']:12} best {d['best_rate_rps']:.0f} req/s at p99 {d['best_rate_p99_us']:.0f} us (saturated {d['saturated_rps']:.0f})")
else:
    lat = d["latency_us"]
    extra = f" chunks/s {d['chunks_per_s']:.0f} ttft p99 {d['ttft_us'].get('p99', 0):.0f} gap p99 {d['gap_us'].get('p99', 0):.0f}" if d["stream"] else ""
    print(f"    {d['arm']:8} {d['label']:12} ok {d['ok']} failed {d['failed']} aborted {d['aborted']} {d['throughput_rps']:.0f} req/s p50 {lat.get('p50', 0):.0f} p99 {lat.get('p99', 0):.0f} us{extra}")
EOF
    else
        note "run $scenario/$arm/rep $rep failed: $(tail -n 2 "$run_dir/bench.err" | tr '\n' ' ')"
    fi
    # An arm may still be working off what the generator gave up on (LiteLLM after aborted streams): let it
    # finish before the next arm is measured, or that arm pays for it.
    local pids=$fake_pid idle
    [[ -n ${arm_pid[$arm]:-} ]] && pids="$pids,${arm_pid[$arm]}"
    idle=$("$bench_bin" wait-idle --pids "$pids" --below 0.1 --max "${BENCH_IDLE_WAIT:-20}" 2>/dev/null || true)
    if [[ $idle == *'"idle":false'* ]]; then
        note "$arm was still busy ${BENCH_IDLE_WAIT:-20} s after $scenario (rep $rep): $idle"
    fi
}

# Whether an arm takes part in a scenario: the control-plane pair (gateway, gateway_redis) is what ns_miss compares,
# and gateway_redis is only there for that comparison (ns_c16: cache-bypassing requests, ns_miss: all misses).
takes_part() { # scenario arm
    case $1:$2 in
    ns_c16:gateway_redis | ns_miss:gateway | ns_miss:gateway_redis) return 0 ;;
    *:gateway_redis | ns_miss:*) return 1 ;;
    *) return 0 ;;
    esac
}

# Other work on this machine (builds, other tenants) distorts every figure: wait, boundedly, until it calms down.
machine_busy_cores() {  # seconds → cores busy over that window, from /proc/stat
    python3 -c '
import os, sys, time
def ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)
b0, t0 = ticks(); time.sleep(float(sys.argv[1])); b1, t1 = ticks()
print(f"{(b1 - b0) / max(1, t1 - t0) * os.cpu_count():.2f}")' "$1"
}
wait_quiet() {  # limit-seconds
    local limit=$1 waited=0 busy
    ((limit > 0)) || return 0
    while :; do
        busy=$(machine_busy_cores 3)
        python3 -c "import sys; sys.exit(0 if $busy < ${BENCH_QUIET_CORES:-0.5} else 1)" && return 0
        waited=$((waited + 3))
        if ((waited >= limit)); then
            note "the machine was still busy (${busy} of $(nproc) cores used by other work) after waiting ${limit} s"
            return 0
        fi
        log "machine busy (${busy} cores); waiting for it to calm down (${waited}/${limit} s)"
    done
}

wait_quiet "${BENCH_QUIET_WAIT:-$([[ $quick == 1 ]] && echo 20 || echo 120)}"
log "translate microbenchmark"
"$bench_bin" translate >>"$raw_lines" 2>>"$run_dir/bench.err" || note "translate microbenchmark failed"

log "warm-up"
for arm in "${live_arms[@]}"; do
    run_one warmup "$arm" 0
    run_one warmup_stream "$arm" 0
done

for ((rep = 1; rep <= reps; rep++)); do
    ((rep > 1)) && wait_quiet "$((${BENCH_QUIET_WAIT:-120} > 30 ? 30 : ${BENCH_QUIET_WAIT:-120}))"
    for scenario in $scenarios; do
        log "rep $rep/$reps: $scenario"
        # Run every second repetition backwards: an arm runs in the wake of the one before it (its closed
        # connections, the fake's leftovers), so each pair of arms takes turns at following the other. And rotate
        # the order every second repetition, so no arm always runs first (or right after the heaviest). (Rotating
        # every repetition as well as reversing every second one gave two arms the same order every time.)
        scenario_arms=()
        for arm in "${live_arms[@]}"; do
            if takes_part "$scenario" "$arm"; then scenario_arms+=("$arm"); fi
        done
        n=${#scenario_arms[@]}
        shift_by=$(((rep - 1) / 2))
        for ((k = 0; k < n; k++)); do
            position=$(((k + shift_by) % n))
            ((rep % 2 == 1)) || position=$(((shift_by + n - 1 - k) % n))
            run_one "$scenario" "${scenario_arms[$position]}" "$rep"
        done
    done
done

# Idle memory again, after the load: what the arms kept, at once and once they have been quiet for a while.
record_memory() {  # phase
    local arm pid
    for arm in "${live_arms[@]}"; do
        pid=${arm_pid[$arm]:-$fake_pid}
        "$bench_bin" rss "$pid" | python3 -c "import json,sys; d=json.load(sys.stdin); d['arm']='$arm'; d['phase']='$1'; print(json.dumps(d))" \
            >>"$raw_lines"
    done
}
record_memory after
log "memory again in ${BENCH_SETTLE_WAIT:-15} s"
sleep "${BENCH_SETTLE_WAIT:-15}"
record_memory settled

# ---------------------------------------------------------------------------------------------------------------
# Report
mkdir -p Benchmarks/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result=Benchmarks/results/$stamp.json
command="${BENCH_QUICK:+BENCH_QUICK=$BENCH_QUICK }${BASELINE_BIN:+BASELINE_BIN=$BASELINE_BIN }GATEWAY_MODE=$mode scripts/bench.sh"
python3 Benchmarks/report.py --runs "$raw_lines" --notes "$notes" --out "$result" --command "$command" \
    --mode "$mode" --quick "$quick" --reps "$reps" --elapsed "$(($(date +%s) - started_at))" \
    --gateway-bin "$gateway_bin" ${baseline_bin:+--baseline-bin "$baseline_bin"} --litellm-version "$litellm_version" --fake-threads "$fake_threads" \
    --gen-threads "$gen_threads"
log "raw results: $result ($(($(date +%s) - started_at)) s)"
