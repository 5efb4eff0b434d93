"""Runs `COMMAND... worker --slot 0 --generation 1` the way the master starts a worker: a listening socket on
127.0.0.1 (a free port) as fd 3 with LISTEN_FDS=1, and its end of a control socketpair as fd 4, whose messages
(the worker's heartbeats) are read and dropped.

    python3 inherited_listener.py COMMAND...

Prints `PORT <port> PID <pid of COMMAND>` once the child is started, then waits for it and exits with its status.
Used by scripts/instructions.sh to measure a worker on the path it serves under the master (an accept thread that
hands each connection to the event loop), which a standalone worker (NIO's own server channel) does not take.
"""
import os
import socket
import subprocess
import sys
import threading


def main(command):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    ours, theirs = socket.socketpair()

    def descriptors_3_and_4():
        # Duplicates first: either source may itself be 3 or 4.
        listen_copy, control_copy = os.dup(listener.fileno()), os.dup(theirs.fileno())
        os.dup2(listen_copy, 3)
        os.dup2(control_copy, 4)

    child = subprocess.Popen(
        command + ["worker", "--slot", "0", "--generation", "1"],
        preexec_fn=descriptors_3_and_4,
        pass_fds=(3, 4, listener.fileno(), theirs.fileno()),
        env=dict(os.environ, LISTEN_FDS="1"),
    )
    theirs.close()
    print("PORT", listener.getsockname()[1], "PID", child.pid, flush=True)

    def drop_control_messages():
        while ours.recv(65536):
            pass

    threading.Thread(target=drop_control_messages, daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
