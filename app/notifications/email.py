"""Notification emails (plain text and HTML), sent by a job so SMTP never blocks a worker's SHAR call."""

from __future__ import annotations

from email.charset import QP, Charset

from flask import render_template
from flask_mail import Message

from app.core.config import current_settings
from app.core.extensions import db, mail
from app.jobs.errors import PermanentJobError
from app.models import (
    ActivityEvent,
    JobRecord,
    Notification,
    User,
    Workflow,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.notifications.in_app import email_not_sent
from app.notifications.links import absolute

# UTF-8 with quoted-printable bodies: Flask-Mail sends UTF-8 as 8bit with lines as long as the
# text, and SMTP servers refuse lines over 998 characters (a long error would lose the e-mail).
MAIL_CHARSET = Charset("utf-8")
MAIL_CHARSET.body_encoding = QP


def send_notification_email(job_record: JobRecord) -> None:
    """Email one notification to its user, once."""
    note = db.session.get(Notification, int(job_record.target_id))
    if note is None:
        raise PermanentJobError(f"notification {job_record.target_id} no longer exists")
    if note.emailed_at is not None:
        return
    user = db.session.get(User, note.user_id)
    if user is None or not user.email_notifications:
        return
    if not current_settings().mail_enabled:  # turned off since it was queued: said, not faked
        db.session.add(email_not_sent(note, user.email))
        db.session.commit()
        return
    context = _context(note)
    message = Message(
        subject=note.title,
        recipients=[user.email],
        charset=MAIL_CHARSET,  # type: ignore[arg-type]
        body=render_template("email/notification.txt", **context),
        html=render_template("email/notification.html", **context),
    )
    mail.send(message)
    note.emailed_at = utcnow()
    db.session.add(
        ActivityEvent(
            target_type=note.target_type,
            target_id=note.target_id,
            kind="email_sent",
            message=f"email sent to {user.email}",
            data={"notification_id": note.id},
        )
    )
    db.session.commit()


def _context(note: Notification) -> dict[str, object]:
    instance = db.session.get(WorkflowInstance, note.target_id) if note.target_type == "instance" else None
    workflow = (
        instance.workflow
        if instance
        else (db.session.get(Workflow, int(note.target_id)) if note.target_type == "workflow" else None)
    )
    return {"note": note, "instance": instance, "workflow": workflow, "link": absolute(note.link)}
