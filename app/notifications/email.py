"""Notification emails (plain text and HTML), sent by a job so SMTP never blocks a worker's SHAR call."""
from __future__ import annotations

from flask import render_template
from flask_mail import Message

from app.extensions import db, mail
from app.jobs.errors import PermanentJobError
from app.jobs.specs import job
from app.models import ActivityEvent, JobRecord, Notification, User, WorkflowInstance, Workflow
from app.models._base import utcnow
from app.notifications.links import absolute


@job("send_email", queue="shar_notify_queue", attempts=3, waits=(30, 120), timeout=60)
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
    context = _context(note)
    message = Message(subject=note.title, recipients=[user.email],
                      body=render_template("email/notification.txt", **context),
                      html=render_template("email/notification.html", **context))
    mail.send(message)
    note.emailed_at = utcnow()
    db.session.add(ActivityEvent(subject_type=note.subject_type, subject_id=note.subject_id, kind="email_sent",
                                 message=f"email sent to {user.email}", data={"notification_id": note.id}))
    db.session.commit()


def _context(note: Notification) -> dict[str, object]:
    instance = db.session.get(WorkflowInstance, note.subject_id) if note.subject_type == "instance" else None
    workflow = instance.workflow if instance else (
        db.session.get(Workflow, int(note.subject_id)) if note.subject_type == "workflow" else None)
    return {"note": note, "instance": instance, "workflow": workflow, "link": absolute(note.link)}
