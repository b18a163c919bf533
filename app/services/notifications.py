"""A user's own notifications: the list, the bell's count, marking read."""
from __future__ import annotations

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification
from app.models._base import utcnow
from app.services.access import find_notification
from app.services.actors import Actor


def list_notifications(*, actor: Actor, limit: int = 200) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == actor.id)
                                   .order_by(Notification.created_at.desc()).limit(limit)))


def unread_state(*, actor: Actor) -> tuple[int, int | None]:
    """How many are unread, and the newest unread id (what the bell depends on)."""
    unread, newest = db.session.execute(
        select(func.count(), func.max(Notification.id)).where(Notification.user_id == actor.id,
                                                              Notification.read_at.is_(None))).one()
    return int(unread or 0), newest


def mark_read(note_id: int, *, actor: Actor) -> Notification:
    note = find_notification(note_id, actor)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    return note


def mark_all_read(*, actor: Actor) -> None:
    db.session.execute(update(Notification).where(Notification.user_id == actor.id,
                                                  Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
