"""Finding 7 (issue 9): a connection limit above the descriptor limit.

At ``ulimit -n 1024`` the server would hold up to 1,024 connections, so 1,100 idle ones
made ``accept()`` fail with EMFILE: the accept loop spun at 96 % CPU and new clients timed
out. The limit now comes from ``RLIMIT_NOFILE`` and the next connection hears ``503
SlowDown``. The server runs in a child process whose descriptor limit is lowered (the
test process keeps its own); the assertions are counts, not timings.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap

from emulator.connection_limits import (
    DESCRIPTORS_PER_CONNECTION,
    RESERVED_DESCRIPTORS,
    connection_limit,
)

NOFILE = 160
EXTRA = 40

CHILD = textwrap.dedent(
    f"""
    import resource, sys, threading
    resource.setrlimit(resource.RLIMIT_NOFILE, ({NOFILE}, {NOFILE}))
    from emulator.control import ControlHandler
    from emulator.server import ThreadedServer
    from emulator.state import EmulatorState
    state = EmulatorState()
    server = ThreadedServer(state, control=ControlHandler(state)).start()
    print(server.url, server.max_connections, flush=True)
    sys.stdin.read()  # run until the test closes our stdin
    server.stop()
    """
)


def test_the_limit_follows_the_descriptor_limit() -> None:
    """EMU-SEC-011: (soft limit - reserve) // descriptors per connection, never above
    what was asked for, never below one."""
    assert connection_limit(descriptors=1024) == (1024 - RESERVED_DESCRIPTORS) // (
        DESCRIPTORS_PER_CONNECTION
    )
    assert connection_limit(100, descriptors=1 << 20) == 100
    assert connection_limit(descriptors=10) == 1


def _health(sock: socket.socket, port: int) -> bytes:
    """Ask for /_emulator/health (keep-alive) and return what arrives first."""
    # A refused connection may already be closed; its 503 is still readable.
    with contextlib.suppress(OSError):
        sock.sendall(f"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_connections_beyond_the_limit_get_503_slowdown() -> None:
    """EMU-SEC-011: with RLIMIT_NOFILE 160 the server holds exactly its derived limit of
    idle connections; every further one is answered 503 SlowDown (OSS XML) instead of
    timing out; held ones are still served, and so is a new client afterwards."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sockets: list[socket.socket] = []
    try:
        assert child.stdout is not None and child.stdin is not None
        url, limit_text = child.stdout.readline().split()
        limit = int(limit_text)
        assert limit == connection_limit(descriptors=NOFILE)
        port = int(url.rsplit(":", 1)[1])
        for _ in range(limit + EXTRA):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        # Keep-alive health checks: held connections answer 200 and stay held, so no
        # slot frees up while the others are counted.
        answers = [_health(sock, port) for sock in sockets]
        served = [a for a in answers if a.startswith(b"HTTP/1.1 200 ")]
        busy = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
        assert (len(served), len(busy)) == (limit, EXTRA), [a[:40] for a in answers]
        for sock in sockets:
            sock.close()
        sockets.clear()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as fresh:
            assert _health(fresh, port).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in sockets:
            sock.close()
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
