"""Consumer heartbeats written to SQL, so the admin page and `queue status` can tell a live consumer
(they read them through app.services.health.heartbeats).

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

from app.core.extensions import db
from app.models import ConsumerHeartbeat
from app.models._base import utcnow

logger = logging.getLogger("sharboard.heartbeat")
INTERVAL = 5.0
# Alive means: a beat within three intervals.
TTL = timedelta(seconds=INTERVAL * 3)


def beat(queue: str) -> None:
    now = utcnow()
    row = db.session.get(ConsumerHeartbeat, queue) or ConsumerHeartbeat(queue=queue)
    row.beat_at, row.alive_until = now, now + TTL
    db.session.add(row)
    db.session.commit()


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
