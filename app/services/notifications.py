"""A user's own notifications: the list, the bell's count, marking read."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from app.core.config import current_settings
from app.core.extensions import db
from app.models import Notification
from app.models._base import utcnow
from app.services.access import find_notification
from app.services.actors import Actor


def list_notifications(*, actor: Actor, limit: int = 200) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == actor.id)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )


MAIL_OFF = "mail is off on this server"


def email_line(note: Notification) -> str:
    """What a notification says of its e-mail, true whatever the settings: sent, or not and why
    when the reason is known now (a pending, failed or declined e-mail claims nothing)."""
    if note.emailed_at is not None:
        return "emailed"
    if not current_settings().mail_enabled:
        return f"not emailed: {MAIL_OFF}"
    return ""


def email_lines(notes: list[Notification]) -> dict[int, str]:
    return {note.id: email_line(note) for note in notes}


def preference_saved(enabled: bool) -> str:
    """What saving the e-mail preference says: "on" is only half the story while mail is off."""
    if enabled and not current_settings().mail_enabled:
        return f"emails are on for you, but {MAIL_OFF}: none is sent until an admin turns mail on (MAIL_ENABLED)"
    return "emails are " + ("on" if enabled else "off")


def mail_enabled() -> bool:
    return current_settings().mail_enabled


BELL_CAP = 99  # the bell shows "99+" beyond this
# Built once: every open page polls the bell. created_at alone: the partial index
# (user_id, created_at) WHERE read_at IS NULL gives it in order (a tie-break by id would sort them all).
_NEWEST_UNREAD = (
    select(Notification.id)
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    .order_by(Notification.created_at.desc())
    .limit(BELL_CAP + 1)
)


def unread_state(*, actor: Actor) -> tuple[int, int | None]:
    """How many are unread, counted up to BELL_CAP + 1, and the newest unread id (what the bell
    depends on). Capped because every open page polls it: it reads at most BELL_CAP + 1 index
    entries whether a user has 100 unread or 100,000."""
    newest_first = db.session.connection().execute(_NEWEST_UNREAD, {"user_id": actor.id}).scalars().all()
    return len(newest_first), (newest_first[0] if newest_first else None)


def mark_read(note_id: int, *, actor: Actor) -> Notification:
    note = find_notification(note_id, actor)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    return note


def mark_all_read(*, actor: Actor) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
