"""In-app notifications: stored once per user, kind and target, then emailed if wanted."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from app.core.config import current_settings
from app.core.extensions import db
from app.core.text import ERROR_CHARS, TITLE_CHARS, clip
from app.jobs.dispatch import submit
from app.models import ActivityEvent, Notification, User

BODY_CHARS = 2 * ERROR_CHARS  # a notification's text, its e-mail's too

logger = logging.getLogger("sharboard.notifications")


def notify(
    user_id: int | None, *, kind: str, target_type: str, target_id: str | int, title: str, body: str, link: str
) -> Notification | None:
    """Store the notification and queue its email; None when it exists already (exactly once)."""
    settings = current_settings()
    if user_id is None or not settings.shar_notifications_enabled:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    title, body = clip(title, TITLE_CHARS), clip(body, BODY_CHARS)  # errors may carry megabyte values
    note = Notification(
        user_id=user.id, kind=kind, target_type=target_type, target_id=str(target_id), title=title, body=body, link=link
    )
    db.session.add(note)
    try:
        db.session.flush()
    except IntegrityError:
        # A racing worker stored it first: that one also sends the email.
        db.session.rollback()
        logger.info("notification already sent", extra={"kind": kind, "target_id": str(target_id)})
        return None
    db.session.add(
        ActivityEvent(
            target_type=target_type,
            target_id=str(target_id),
            kind="notified",
            message=f"{user.email} notified: {title}",
            data={"notification_id": note.id},
        )
    )
    db.session.commit()
    if user.email_notifications:
        submit("send_email", target_type="notification", target_id=note.id)
    return note
