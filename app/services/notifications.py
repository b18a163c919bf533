"""A user's own notifications: the list, the bell's count, marking read; and the notifications
code beside the app sends (plug-ins, workers: send_custom)."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select, update

from app.core.config import current_settings
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.models import Notification, User, Workflow, WorkflowInstance
from app.models._base import new_uuid, utcnow
from app.notifications.in_app import notify
from app.notifications.links import instance_path, workflow_path
from app.services.access import find_notification, require_admin
from app.services.actors import Actor
from app.services.rows import required
from app.services.users import find_user


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


# A custom kind has a dot ("billing.invoice_sent"): it can never be one of sharboard's own kinds, so a
# plug-in's notification never stands in for (or swallows) a built-in one.
CUSTOM_KIND = re.compile(r"^[a-z][a-z0-9_-]*\.[a-z0-9_.-]+$")
KIND_CHARS = 40  # notifications.kind


def send_custom(
    recipient: int | str,
    *,
    actor: Actor,
    kind: str,
    title: str,
    body: str = "",
    target: tuple[str, int | str] | None = None,
    link: str | None = None,
) -> Notification | None:
    """Notify a user (by id or e-mail) in the app, and by e-mail if they want e-mails and mail is on,
    through the same path as sharboard's own notifications (in_app.notify). Admins only (system actors
    are). One per user, kind and `target` ("instance" or "workflow", and its id): sending it again is
    a no-op returning None, so a listener run twice notifies once; without a target every call is new.
    None too when the user is deactivated or SHAR_NOTIFICATIONS_ENABLED is off. Not audited: the
    target's timeline records each notification ("notified")."""
    require_admin(actor)
    if not isinstance(kind, str) or len(kind) > KIND_CHARS or not CUSTOM_KIND.fullmatch(kind):
        raise InvalidInput.field("kind", f"a custom kind is dotted, such as 'myplugin.done', at most {KIND_CHARS} long")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput.field("title", "a notification needs a title")
    user = required(User, recipient, "user") if isinstance(recipient, int) else find_user(str(recipient))
    if user is None:
        raise NotFound(f"no user {recipient}")
    target_type, target_id, page = _target(target)
    return notify(
        user.id,
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        title=title,
        body=body if isinstance(body, str) else str(body),
        link=_link(link, page),
    )


def _target(target: tuple[str, int | str] | None) -> tuple[str, str, str]:
    if target is None:
        return "custom", new_uuid(), "/notifications"
    kind, target_id = target
    if kind == "instance":
        return kind, required(WorkflowInstance, str(target_id), "instance").id, instance_path(str(target_id))
    if kind == "workflow":
        if not isinstance(target_id, int):
            raise NotFound(f"no workflow {target_id}")
        workflow = required(Workflow, target_id, "workflow")
        return kind, str(workflow.id), workflow_path(workflow.name)
    raise InvalidInput.field("target", f"a notification is about an instance or a workflow, not {kind!r}")


def _link(link: str | None, default: str) -> str:
    """A path on this dashboard (e-mails make it absolute with SHARBOARD_BASE_URL), never another site."""
    if link is None:
        return default
    if not isinstance(link, str) or not link.startswith("/") or link.startswith("//") or len(link) > 500:
        raise InvalidInput.field("link", "a link is a path on this dashboard, such as /instances/<id>")
    return link
