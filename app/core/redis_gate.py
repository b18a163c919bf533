"""Redis connections that give up quickly, and a gate that stops a process from waiting on a Redis that
does not answer.

A Redis that is paused or cut off (SIGSTOP, a network partition) accepts connections and never answers,
where a dead one refuses them at once. With no socket timeout every call waited for ever, and with
timeouts alone every web request still paid one per Redis call it makes (the queue hand-over, the
remembered sign-in, the rate count): a fault probe (session 14) saw 15-20 s a completion, the API at
~0.5 request/s. So every connection has short timeouts, and the first call that meets one (or a refused
connection) closes the gate for GATE_SECONDS: meanwhile this process's calls fail at once, and each
caller does what it does when Redis is down (the job keeps its enqueue_error for the reconciler, the
sign-in is read from the database, the count is kept in memory).
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
COMMAND_TIMEOUT = 2.0  # seconds for an answer, beyond what a blocking read asks to wait
GATE_SECONDS = 5.0  # how long calls fail at once after one met an unanswering or refusing Redis

_closed_until = 0.0
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


def is_open() -> bool:
    return time.monotonic() >= _closed_until


def _close(exc: BaseException) -> None:
    global _closed_until
    with _lock:
        first = is_open()
        _closed_until = time.monotonic() + GATE_SECONDS
    if first:
        logger.warning("Redis did not answer; calls fail at once for %g s", GATE_SECONDS, extra={"error": str(exc)})


def reopen() -> None:
    """Open the gate now (tests)."""
    global _closed_until
    _closed_until = 0.0


class _Gated:
    """What makes a redis-py connection refuse at once while the gate is closed, and close the gate
    on a timeout or a refused connection."""

    def connect(self) -> None:
        if not is_open():
            raise RedisUnavailable(f"Redis did not answer moments ago; not tried for up to {GATE_SECONDS:g} s")
        try:
            super().connect()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _close(exc)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not is_open():
            self.disconnect()
            raise RedisUnavailable(f"Redis did not answer moments ago; not tried for up to {GATE_SECONDS:g} s")
        try:
            super().send_packed_command(command, check_health)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _close(exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _close(exc)
            raise


class GatedConnection(_Gated, Connection):
    pass


class GatedSSLConnection(_Gated, SSLConnection):
    pass
