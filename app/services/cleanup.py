"""The cleanup of old instances: those that ended more than some days ago, with their timelines,
asked for by an operator (the CLI) or by the daily schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, select

from app.core.extensions import db
from app.lifecycle.changes import counts_changed
from app.models import ActivityEvent, WorkflowInstance
from app.models._base import utcnow
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.audit import audit


def cleanup_instances(*, actor: Actor, days: int, statuses: Sequence[str], dry_run: bool = False) -> int:
    """Delete instances that ended more than `days` ago in one of `statuses`; returns the count."""
    require_admin(actor)
    ids = _ended_before(days, statuses)
    if dry_run or not ids:
        return len(ids)
    audit(
        actor,
        "instance.cleanup",
        "instance",
        "*",
        after={"days": days, "statuses": list(statuses), "deleted": len(ids)},
    )
    return _delete_instances(ids)


def daily_cleanup(days: int, statuses: Sequence[str]) -> int:
    """The scheduled cleanup (the daily 02:00 run): the same deletion, by the settings."""
    return _delete_instances(_ended_before(days, statuses))


def _ended_before(days: int, statuses: Sequence[str]) -> list[str]:
    cutoff = utcnow() - timedelta(days=days)
    return list(
        db.session.scalars(
            select(WorkflowInstance.id).where(
                WorkflowInstance.status.in_(tuple(statuses)),
                WorkflowInstance.completed_at.is_not(None),
                WorkflowInstance.completed_at < cutoff,
            )
        )
    )


def _delete_instances(ids: list[str]) -> int:
    versions: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.session.execute(
            delete(ActivityEvent).where(ActivityEvent.target_type == "instance", ActivityEvent.target_id.in_(chunk))
        )
        deleted = db.session.execute(
            delete(WorkflowInstance).where(WorkflowInstance.id.in_(chunk)).returning(WorkflowInstance.workflow_id)
        )
        versions.update(deleted.scalars())
    counts_changed(*versions)  # a failed instance deleted leaves its element's count
    db.session.commit()
    return len(ids)
