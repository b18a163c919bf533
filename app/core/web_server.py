"""gunicorn's settings for the web process, read with `gunicorn -c python:app.core.web_server wsgi:app`
(the Procfile, `flask shar up` and the tests' stack all start it so). gunicorn takes the names below
that are its settings and hooks."""

from __future__ import annotations

import errno
import socket
from typing import Any

from app.core.children import die_with_parent, guard_from_env
from app.core.memory import large_blocks_apart

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them by their addresses. On one shared socket the worker that wakes first accepts, and a burst of
# keep-alive connections (a proxy's pool, a load test) often all went to one worker, served on one core
# while the other idled: half the throughput at twice the latency (docs/performance.md, session 9).
reuse_port = True


def on_starting(server: Any) -> None:
    """Refuse to start on an address another process listens on: with SO_REUSEPORT a second server
    (another copy of the stack) would otherwise share the port silently and take half the requests."""
    guard_from_env()
    for address in server.cfg.address:
        if isinstance(address, tuple):
            refuse_if_taken(str(address[0]), int(address[1]))


def post_fork(server: Any, worker: Any) -> None:
    """A worker dies with the master (gunicorn's workers only notice a lost master at their next
    loop, if they are not stuck in a request); the master dies with `up` (app.core.children). Its
    large buffers (uploads' texts) are unmapped as soon as they are freed (app.core.memory)."""
    die_with_parent(server.pid)
    large_blocks_apart()


def refuse_if_taken(host: str, port: int) -> None:
    """RuntimeError (gunicorn prints it and exits 1) when `host:port` is already listened on; a plain
    bind without SO_REUSEPORT fails there, whichever way the other process bound it."""
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no owner
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise RuntimeError(
                        f"{host}:{port} is already in use by another process; stop it or choose another port"
                    ) from exc
                raise
