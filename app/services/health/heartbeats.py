"""Which consumers are alive: the beats app.jobs.heartbeat writes from each consumer's main loop."""

from __future__ import annotations

from app.core.extensions import db
from app.models import ConsumerHeartbeat
from app.models._base import utcnow


def consumer_alive(queue: str) -> bool:
    row = db.session.get(ConsumerHeartbeat, queue)
    return bool(row and row.alive_until > utcnow())


def last_beat(queue: str) -> ConsumerHeartbeat | None:
    return db.session.get(ConsumerHeartbeat, queue)
