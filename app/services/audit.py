"""The audit log: every operator action, with who, what, when, before and after.

Each service operation adds its entry to the session before its change commits, so the
entry and the change land in one transaction or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry
from app.services.access import require_admin
from app.services.actors import Actor, actor_label


def audit(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; the operation's commit makes it part of the change."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_name=actor_label(actor),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


def audit_entries(*, actor: Actor, limit: int = 300) -> list[AuditEntry]:
    """The newest entries, for admins."""
    require_admin(actor)
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
