"""Checking pooled PostgreSQL connections only when they may have gone stale.

`pool_pre_ping` checks every connection as it leaves the pool: one round trip before every
request and after every commit, 8-20 % of an API read's time. A connection taken back
within IDLE_SECONDS was working a moment ago; one idle for longer (PostgreSQL restarted, a
firewall dropped it) is pinged first and replaced, unseen by the request, if it is dead. A
server restart within that second still fails the one statement that meets the dead
connection; SQLAlchemy then recycles the whole pool.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_SECONDS = 1.0
_RETURNED = "sharboard.returned_at"


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_SECONDS) -> None:
    if engine.dialect.name == "sqlite":
        return  # a file: nothing to lose between uses

    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and hands out another (or a new one)
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error

    event.listen(engine, "connect", _stamp)
    event.listen(engine, "checkin", _stamp)
    event.listen(engine, "checkout", _check)
