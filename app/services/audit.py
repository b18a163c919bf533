"""The audit log: every operator action, with who, what, when, before and after."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEntry, User


def audit(actor: User | None, action: str, target_type: str, target_id: str | int, *,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit makes it part of the action."""
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action, target_type=target_type,
                       target_id=str(target_id), before=before, after=after)
    db.session.add(entry)
    return entry
