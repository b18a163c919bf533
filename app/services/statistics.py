"""Instance statistics computed in SQL: totals by status, average duration, success rate.

The average is of the stored `duration_seconds` (one clock, never negative), the same on SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import NotFound
from app.core.extensions import db
from app.models import Workflow, WorkflowInstance
from app.services.access import instance_owner_filter
from app.services.actors import Actor


def _columns() -> list[ColumnElement[Any]]:
    completed = WorkflowInstance.status == "completed"

    def count(status: str) -> ColumnElement[Any]:
        return func.sum(case((WorkflowInstance.status == status, 1), else_=0))

    return [
        func.count(WorkflowInstance.id),
        count("running"),
        count("completed"),
        count("failed"),
        count("launching"),
        count("cancelled"),
        # The stored duration (app.lifecycle.durations): the same number pages and e-mails show.
        func.avg(case((completed, WorkflowInstance.duration_seconds))),
    ]


def _as_dict(
    total: Any, running: Any, done: Any, failed: Any, launching: Any, cancelled: Any, average: Any
) -> dict[str, Any]:
    done, failed = int(done or 0), int(failed or 0)
    ended = done + failed
    return {
        "total": int(total or 0),
        "launching": int(launching or 0),
        "running": int(running or 0),
        "completed": done,
        "failed": failed,
        "cancelled": int(cancelled or 0),
        "average_duration_seconds": round(float(average), 3) if average is not None else None,
        "success_rate": round(done / ended, 4) if ended else None,
    }


def instance_statistics(
    *, workflow_name: str | None = None, workflow_ids: list[int] | None = None, created_by: int | None = None
) -> dict[str, Any]:
    """total, by status, average duration of completed instances, and success rate of ended ones.

    `created_by` limits it to one user's instances (what a plain user may see).
    """
    query = select(*_columns()).select_from(WorkflowInstance)
    if created_by is not None:
        query = query.where(WorkflowInstance.created_by == created_by)
    if workflow_name is not None:
        query = query.join(Workflow).where(Workflow.name == workflow_name)
    if workflow_ids is not None:
        query = query.where(WorkflowInstance.workflow_id.in_(workflow_ids))
    return _as_dict(*db.session.execute(query).one())


def statistics_by_workflow_name(names: list[str], *, created_by: int | None = None) -> dict[str, dict[str, Any]]:
    """instance_statistics for each of `names` (all versions of each), in one grouped query."""
    query = (
        select(Workflow.name, *_columns())
        .select_from(WorkflowInstance)
        .join(Workflow)
        .where(Workflow.name.in_(names))
        .group_by(Workflow.name)
    )
    if created_by is not None:
        query = query.where(WorkflowInstance.created_by == created_by)
    rows = db.session.execute(query)
    found = {name: _as_dict(*values) for name, *values in rows}
    return {name: found.get(name) or _as_dict(0, 0, 0, 0, 0, 0, None) for name in names}


def statistics(*, actor: Actor, workflow_name: str | None = None) -> dict[str, Any]:
    """instance_statistics over the instances `actor` may see; an unknown workflow is NotFound."""
    if (
        workflow_name is not None
        and db.session.scalar(select(Workflow.id).where(Workflow.name == workflow_name).limit(1)) is None
    ):
        raise NotFound(f"no workflow named {workflow_name!r}")
    return instance_statistics(workflow_name=workflow_name, created_by=instance_owner_filter(actor))
