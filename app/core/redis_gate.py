"""Redis connections that give up quickly, and a gate that stops a process from waiting on a Redis that
does not answer.

A Redis that is paused or cut off (SIGSTOP, a network partition) accepts connections and never answers,
where a dead one refuses them at once. With no socket timeout every call waited for ever, and with
timeouts alone every web request still paid one per Redis call it makes (the queue hand-over, the
remembered sign-in, the rate count): a fault probe (session 14) saw 15-20 s a completion, the API at
~0.5 request/s. So every connection has short timeouts, and the first call that meets one (or a refused
connection) closes the gate for GATE_SECONDS: meanwhile this process's calls fail at once, and each
caller does what it does when Redis is down (the job keeps its enqueue_error for the reconciler, the
sign-in is read from the database, the count is kept in memory). A refused connection (Redis down)
costs nothing to meet again, so it closes no gate: calls go through the moment Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis.connection import Connection, SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("sharboard.redis")

CONNECT_TIMEOUT = 1.0  # seconds to open a connection
COMMAND_TIMEOUT = 3.0  # seconds for an answer, beyond what a blocking read asks to wait
GATE_SECONDS = 10.0  # how long calls to a server fail at once after one met it not answering

_closed_until: dict[tuple[str, int], float] = {}  # by server (host, port)
_lock = threading.Lock()


class RedisUnavailable(RedisConnectionError):
    """Refused without trying: a call of this process met an unanswering Redis moments ago."""


def options(url: str, blocking_read: float = 0.0) -> dict[str, Any]:
    """The connection options of every Redis client of the app for `url` (`blocking_read`: the longest
    a blocking command of it waits, as Huey's consumer's BRPOP does)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": blocking_read + COMMAND_TIMEOUT,
        "connection_class": GatedSSLConnection if url.startswith("rediss://") else GatedConnection,
    }


def is_open(server: tuple[str, int]) -> bool:
    return time.monotonic() >= _closed_until.get(server, 0.0)


def _close(server: tuple[str, int], exc: BaseException) -> None:
    with _lock:
        first = is_open(server)
        _closed_until[server] = time.monotonic() + GATE_SECONDS
    if first:
        logger.warning(
            "Redis at %s:%s did not answer; calls to it fail at once for %g s",
            *server,
            GATE_SECONDS,
            extra={"error": str(exc)},
        )


def reopen() -> None:
    """Open every gate now (tests)."""
    with _lock:
        _closed_until.clear()


class _Gated:
    """What makes a redis-py connection refuse at once while its server's gate is closed, and close the
    gate when the server does not answer in time."""

    host: str
    port: int

    def _refuse_if_closed(self) -> None:
        if not is_open((self.host, self.port)):
            raise RedisUnavailable(
                f"Redis at {self.host}:{self.port} did not answer moments ago; not tried for up to {GATE_SECONDS:g} s"
            )

    def connect(self) -> None:
        self._refuse_if_closed()
        try:
            super().connect()  # type: ignore[misc]
        except RedisTimeoutError as exc:
            _close((self.host, self.port), exc)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        try:
            self._refuse_if_closed()
        except RedisUnavailable:
            self.disconnect()  # type: ignore[attr-defined]
            raise
        try:
            super().send_packed_command(command, check_health)  # type: ignore[misc]
        except RedisTimeoutError as exc:
            _close((self.host, self.port), exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except RedisTimeoutError as exc:
            _close((self.host, self.port), exc)
            raise


class GatedConnection(_Gated, Connection):
    pass


class GatedSSLConnection(_Gated, SSLConnection):
    pass
