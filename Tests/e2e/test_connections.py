"""A client connection as the worker holds it: TCP_NODELAY and SO_KEEPALIVE on the worker's own socket.

The worker sets neither per connection: accepted sockets inherit them from the listening socket (Linux clones a
listener into each connection it accepts). This test reads them from the worker's socket itself, duplicated into
this process with pidfd_getfd(2), so it sees what the kernel uses, not what the code meant to set.
"""
import ctypes
import errno
import os
import socket
from pathlib import Path

import pytest

from conftest import BIN_DIR, GATEWAY_KEY, ManagedProcess, worker_pids

SYS_PIDFD_GETFD = 438  # x86-64 and aarch64 alike


def socket_inode(local_port, remote_port):
    """The inode of the TCP socket 127.0.0.1:local_port <-> remote_port, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            return inode
    return None


def holder_of(pids, inode):
    """(pid, fd) of the process among pids whose descriptor is the socket with this inode."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid, int(fd.name)
            except FileNotFoundError:
                continue
    return None


def options_of_remote_socket(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        code = ctypes.get_errno()
        if copy < 0 and code in (errno.EPERM, errno.ENOSYS):
            # A container without CAP_SYS_PTRACE, or a kernel before 5.6: another process's socket cannot be read.
            pytest.skip(f"pidfd_getfd is not available here: {os.strerror(code)}")
        assert copy >= 0, f"pidfd_getfd: {os.strerror(code)}"
    finally:
        os.close(pidfd)
    duplicate = socket.socket(fileno=copy)
    try:
        return (duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
                duplicate.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
    finally:
        duplicate.close()


def check_connections(port, holders):
    for _ in range(4):  # several connections, so that both workers' sockets are likely looked at
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200")  # accepted and answered by a worker
            inode = socket_inode(port, client.getsockname()[1])
            assert inode, "the worker's side of the connection is not in /proc/net/tcp"
            holder = holder_of(holders(), inode)
            assert holder, "no worker holds the connection"
            assert options_of_remote_socket(*holder) == (1, 1)


def test_accepted_connections_have_nodelay_and_keepalive(gateway):
    check_connections(gateway.port, lambda: worker_pids(gateway.pid))


def test_a_standalone_workers_connections_have_them_too(fake_upstream):
    env = dict(os.environ, CEREBRAS_API_KEY="csk-e2e-upstream", GATEWAY_API_KEYS=GATEWAY_KEY, ENV_FILE="",
               CEREBRAS_BASE_URL=f"http://127.0.0.1:{fake_upstream.port}/v1", LOG_LEVEL="warning")
    worker = ManagedProcess([str(BIN_DIR / "cerebras-gateway"), "worker", "--standalone", "--host", "127.0.0.1",
                             "--port", "0"], env=env, ready_prefix="LISTENING")
    try:
        check_connections(int(worker.first_line.split()[1]), lambda: [worker.pid])
    finally:
        worker.stop()
