"""Consumer heartbeats in SQL, so the admin page and `queue status` can tell a live consumer.

The beat is written from the consumer's own main loop, not from a thread: Huey forks
its worker processes from that loop, and a fork while another thread holds a lock (an
import lock, a connection pool's) leaves the child deadlocked.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from huey.consumer import Consumer

from app.extensions import db
from app.models import PeriodicRun
from app.models._base import utcnow

logger = logging.getLogger("sharboard.heartbeat")
INTERVAL = 5.0
# Alive means: a beat within three intervals.
TTL = timedelta(seconds=INTERVAL * 3)


def _key(queue: str) -> str:
    return f"consumer:{queue}"


def beat(queue: str) -> None:
    row = db.session.get(PeriodicRun, _key(queue)) or PeriodicRun(name=_key(queue))
    now = utcnow()
    row.last_finished_at, row.lease_until = now, now + TTL
    db.session.add(row)
    db.session.commit()


def consumer_alive(queue: str) -> bool:
    row = db.session.get(PeriodicRun, _key(queue))
    return bool(row and row.lease_until and row.lease_until > utcnow())


class HeartbeatConsumer(Consumer):
    """Huey's consumer, beating for its queue every few seconds from its main loop."""

    def __init__(self, huey: Any, *, app: Flask, queue: str, **options: Any) -> None:
        super().__init__(huey, **options)
        self._app, self._queue, self._next_beat = app, queue, 0.0

    def loop(self, health_check_ts: float | None = None) -> float | None:
        if time.monotonic() >= self._next_beat:
            self._next_beat = time.monotonic() + INTERVAL
            with self._app.app_context():
                try:
                    beat(self._queue)
                except Exception:
                    db.session.rollback()
                    logger.warning("heartbeat failed", exc_info=True)
                finally:
                    db.session.remove()
        return super().loop(health_check_ts)
