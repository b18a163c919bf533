"""Which consumers are alive: the beats app.jobs.heartbeat writes from each consumer's main loop."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from app.core.extensions import db
from app.models import ConsumerHeartbeat
from app.models._base import utcnow


def consumer_alive(queue: str) -> bool:
    return beating(db.session.get(ConsumerHeartbeat, queue))


def beating(row: ConsumerHeartbeat | None) -> bool:
    """Whether the consumer whose last beat is `row` is alive: it beat within its time to live."""
    return bool(row and row.alive_until > utcnow())


def last_beat(queue: str) -> ConsumerHeartbeat | None:
    return db.session.get(ConsumerHeartbeat, queue)


def queues_without_beat_since(queues: Iterable[str], since: datetime) -> list[str]:
    """The queues whose consumer has not beaten since `since` (a stack starting waits for them).
    The read's transaction is ended, so the next call sees beats written meanwhile."""
    wanted = list(queues)
    beaten = set(
        db.session.scalars(
            select(ConsumerHeartbeat.queue).where(
                ConsumerHeartbeat.queue.in_(wanted), ConsumerHeartbeat.beat_at >= since
            )
        )
    )
    db.session.rollback()
    return [q for q in wanted if q not in beaten]
