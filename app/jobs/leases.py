"""Named leases: taken by a compare-and-set UPDATE, so two processes never run the same
periodic work at once; a lease ends when released or when its time runs out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.core.extensions import db
from app.models import Lease
from app.models._base import utcnow


def acquire(name: str, seconds: float) -> bool:
    """Take lease `name` for `seconds` unless someone holds it."""
    now = utcnow()
    if db.session.get(Lease, name) is None:
        db.session.add(Lease(name=name))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another process created it first; the UPDATE decides
    result = db.session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.held_until.is_(None)) | (Lease.held_until < now))
        .values(held_until=now + timedelta(seconds=seconds), last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def release(name: str, result: str) -> None:
    """End lease `name`, noting how the run ended."""
    db.session.execute(
        update(Lease)
        .where(Lease.name == name)
        .values(held_until=None, last_finished_at=utcnow(), last_result=result[:500])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def last_run(name: str) -> Lease | None:
    """The lease row of `name`: when its work last started and finished, and how."""
    return db.session.get(Lease, name)
