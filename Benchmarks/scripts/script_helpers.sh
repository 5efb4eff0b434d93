# Sourced by the benchmark scripts (and scripts/bench.sh, scripts/instructions.sh): small helpers they share.
# shellcheck shell=bash

# Installs PACKAGE with apt-get when COMMAND is missing (with sudo unless root).
install_if_missing() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    local sudo_cmd
    sudo_cmd=$([[ $(id -u) == 0 ]] || echo sudo)
    $sudo_cmd apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$2" >&2
}

# Prints a TCP port on 127.0.0.1 that is free now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts redis-server on a free loopback port, without persistence, its log in DIR/redis.log (more redis-server
# arguments after DIR); sets $redis_pid (the caller stops it) and $redis_port. It may not answer yet: see
# wait_for_redis.
start_redis_server() { # dir [redis-server arguments…]
    local dir=$1
    shift
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no "$@" >"$dir/redis.log" 2>&1 &
    # shellcheck disable=SC2034 # read by the caller
    redis_pid=$!
}

# Waits until the redis-server on 127.0.0.1:PORT answers PING, for up to SECONDS. Returns 1 when it never does.
wait_for_redis() { # port seconds
    local port=$1 limit=$2 i
    for ((i = 0; i < limit * 10; i++)); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# Waits until URL answers at all (any status; an https URL's certificate is not checked), for up to SECONDS.
# Returns 1 when it never does.
wait_for_http() { # url seconds
    local url=$1 limit=$2 i
    for ((i = 0; i < limit * 5; i++)); do
        if curl -sk -o /dev/null --max-time 2 "$url"; then return 0; fi
        sleep 0.2
    done
    return 1
}

# Writes FILE's dirty pages and drops FILE from the page cache, so that the next process that maps it reads it from
# disk. The same binary maps about 1 MB more in each process while its cached pages are the ones written when it was
# built or copied than once they have been read back (BENCHMARKS.md, "Forty-fifth round"): the benchmark scripts drop
# each gateway binary before starting it, so that every arm's idle memory is measured from the same state.
drop_from_page_cache() { # file
    sync "$1" && dd if="$1" iflag=nocache count=0 status=none
}
