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
    mailed = user.email_notifications and settings.mail_enabled
    if user.email_notifications and not settings.mail_enabled:
        db.session.add(email_not_sent(note, user.email))  # no job: it would "send" to nowhere
    db.session.commit()
    if mailed:
        submit("send_email", target_type="notification", target_id=note.id)
    return note


def email_not_sent(note: Notification, email: str) -> ActivityEvent:
    """The record that a wanted e-mail was not sent, and why: mail is off (MAIL_ENABLED), where
    Flask-Mail would otherwise drop it silently and the timeline say "email sent"."""
    return ActivityEvent(
        target_type=note.target_type,
        target_id=note.target_id,
        kind="email_not_sent",
        message=f"email to {email} not sent: mail is off on this server (MAIL_ENABLED)",
        data={"notification_id": note.id},
    )
