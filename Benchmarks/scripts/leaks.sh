#!/usr/bin/env bash
# Memory a standalone worker loses, counted by valgrind's memcheck: run after a change to who holds whom (a strong
# reference where a weak one was, a cycle broken by hand), where a missed release leaks a connection's objects.
#
#   Benchmarks/scripts/leaks.sh BINARY...
#
# Each binary runs as `cerebras-gateway worker --standalone` under memcheck against the fake upstream and serves,
# each on connections of their own: 200 non-streaming requests (4 at a time), 40 streams of 20 chunks, 20 streams
# the client drops after their first bytes, 20 requests with a wrong key and 20 with a body that is not a request.
# It is then stopped with SIGTERM, and memcheck's count of memory no longer reachable is printed. A build that
# leaks per connection or per request loses hundreds of blocks here; the gateway loses a handful at start-up (the
# process's arguments, held until it exits), the same in every build. Needs valgrind (installed with apt-get when
# missing) and the benchmark build of fake-cerebras and gateway-bench in $BIN_DIR (default .build-bench/release).
# Under memcheck a worker runs some 50 times slower: about a minute a binary.
set -euo pipefail
(($#)) || { echo "usage: $0 BINARY..." >&2; exit 2; }
bin=${BIN_DIR:-.build-bench/release}
# shellcheck source=Benchmarks/scripts/fake_upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.sh"
install_if_missing valgrind valgrind

for binary in "$@"; do
    # Valgrind cannot read the DWARF 5 debug information of Swift 6 binaries: a copy without it (symbols kept).
    objcopy --strip-debug "$binary" "$work/measured"
    start_standalone_worker 60 valgrind --leak-check=full --show-leak-kinds=definite,indirect \
        "--log-file=$work/memcheck.txt" "$work/measured" ||
        { echo "$binary: the worker did not start under valgrind" >&2; exit 1; }
    port=$worker_port
    "$bin/gateway-bench" load --url "http://127.0.0.1:$port" --key k --connections 4 --requests 200 >/dev/null
    "$bin/gateway-bench" load --url "http://127.0.0.1:$port" --key k --stream \
        --scenario 'paced;chunks=20;interval_ms=5' --connections 4 --requests 40 >/dev/null
    python3 - "$port" <<'PY'
import json, socket, sys
port = int(sys.argv[1])

def ask(head, body):
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(head % len(body) + body)
        connection.recv(512)  # the first bytes of the answer; the connection is then dropped

stream = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True, "messages": [
    {"role": "user", "content": "hi [[scenario:paced;chunks=200;interval_ms=10]]"}]}).encode()
for _ in range(20):
    ask(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n", stream)
for _ in range(20):
    ask(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: wrong\r\ncontent-length: %d\r\n\r\n", b"{}")
    ask(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\ncontent-length: %d\r\n\r\n", b"{}")
PY
    sleep 2 # the dropped streams' upstream transfers are cancelled and freed
    kill -TERM "$worker"
    wait "$worker" 2>/dev/null || true
    printf '%s:' "$binary"
    awk '/definitely lost:|indirectly lost:/ { sub(/^==[0-9]+== +/, ""); printf " %s;", $0 }' "$work/memcheck.txt"
    echo
done
