"""What operators watch: stuck instances and counts by status."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.config import current_settings
from app.extensions import db
from app.models import WorkflowInstance
from app.models._base import utcnow
from app.services.lookups import latest_versions_query


def stuck_instances_query(minutes: int | None = None):  # type: ignore[no-untyped-def]
    """Running or launching instances whose status and activities have not changed for `minutes`."""
    minutes = minutes or current_settings().stuck_minutes
    cutoff = utcnow() - timedelta(minutes=minutes)
    return (select(WorkflowInstance)
            .where(WorkflowInstance.status.in_(("launching", "running")), WorkflowInstance.progressed_at < cutoff)
            .order_by(WorkflowInstance.progressed_at.asc()))


def instance_counts(created_by: int | None = None) -> dict[str, int]:
    query = select(WorkflowInstance.status, func.count()).group_by(WorkflowInstance.status)
    if created_by is not None:
        query = query.where(WorkflowInstance.created_by == created_by)
    return {status: count for status, count in db.session.execute(query)}


def workflow_counts() -> dict[str, int]:
    latest = latest_versions_query().subquery()
    rows = db.session.execute(select(latest.c.status, func.count()).group_by(latest.c.status))
    return {status: count for status, count in rows}


__all__ = ["instance_counts", "stuck_instances_query", "workflow_counts"]
