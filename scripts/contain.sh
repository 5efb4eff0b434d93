# Sourced by the test scripts: `contained CMD...` runs CMD in a session of its own and, when it ends, stops by PID
# whatever it left running in that session (a test that crashed leaves its fake upstreams, redis-servers or gateways
# behind, and they would hold ports and CPU through the later phases). Those processes are listed on stderr, so a
# leak shows up in the log even when the command passed. CMD's exit status is returned.
#
# A session rather than a process group: Foundation's Process puts each child in a group of its own, but children
# stay in the session. Reads /proc only (no procps needed on a slim image).
# shellcheck shell=bash

# The PIDs of the processes in session $1, one per line.
session_members() {
    local stat pid rest fields
    for stat in /proc/[0-9]*/stat; do
        pid=${stat#/proc/}; pid=${pid%/stat}
        read -r rest <"$stat" 2>/dev/null || continue
        # The fields after the command name (which may hold spaces and parentheses) start at the last ')'.
        read -r -a fields <<<"${rest##*) }"
        # state ppid pgrp session ...; a zombie has ended already (its reaper may be slow to collect it).
        [[ "${fields[3]:-}" == "$1" && "${fields[0]}" != Z ]] && echo "$pid"
    done
    return 0
}

# Stops what is left in session $1, saying what it was.
stop_session_leftovers() {
    local sid=$1 label=$2 pids pid
    mapfile -t pids < <(session_members "$sid")
    ((${#pids[@]})) || return 0
    echo "!! ${label} left ${#pids[@]} process(es) running; stopping them:" >&2
    for pid in "${pids[@]}"; do
        echo "!!   pid ${pid}: $(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" >&2
    done
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 20); do
        mapfile -t pids < <(session_members "$sid")
        ((${#pids[@]})) || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

contained() {
    local sid_file sid status=0
    sid_file=$(mktemp)
    # setsid forks when the caller leads its process group; either way the shell it starts leads the new session,
    # so its PID is the session's ID. The session has no terminal, so an interrupt is passed on by the trap.
    setsid --wait bash -c 'echo $$ >"$0"; exec "$@"' "$sid_file" "$@" &
    local runner=$!
    while [[ ! -s "$sid_file" ]] && kill -0 "$runner" 2>/dev/null; do sleep 0.02; done
    sid=$(cat "$sid_file")
    # shellcheck disable=SC2064 # the session ID is meant to be fixed now
    [[ -n "$sid" ]] && trap "stop_session_leftovers '${sid}' 'the interrupted run'; exit 130" INT TERM
    wait "$runner" || status=$?
    trap - INT TERM
    rm -f "$sid_file"
    [[ -n "$sid" ]] && stop_session_leftovers "$sid" "'$*'"
    return "$status"
}
