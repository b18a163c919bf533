"""The overview: counts by status, recent activity, SHAR's health, the queue backlog, stuck instances."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.extensions import db
from app.models import ActivityEvent, JobRecord, WorkflowInstance
from app.services.health import last_shar_health
from app.services.monitoring import instance_counts, stuck_instances_query, workflow_counts

bp = Blueprint("overview", __name__)


@bp.get("/")
@login_required
def index() -> str:
    mine = current_user.id if current_user.role == "user" else None
    health, checked_at = last_shar_health()
    backlog = dict(db.session.execute(select(JobRecord.queue, func.count()).where(
        JobRecord.state.in_(("queued", "retrying", "running"))).group_by(JobRecord.queue)).all())
    failed_jobs = db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.state == "failed"))
    stuck = stuck_instances_query()
    if mine is not None:
        stuck = stuck.where(WorkflowInstance.created_by == mine)
    recent = _recent_activity(mine)
    context: dict[str, Any] = {
        "workflow_counts": workflow_counts(), "instance_counts": instance_counts(mine), "health": health,
        "health_checked_at": checked_at, "backlog": backlog, "failed_jobs": failed_jobs,
        "stuck": list(db.session.scalars(stuck.limit(10))), "recent": recent,
    }
    return render_template("overview/index.html", **context)


def _recent_activity(user_id: int | None) -> list[ActivityEvent]:
    query = select(ActivityEvent).order_by(ActivityEvent.id.desc()).limit(15)
    if user_id is not None:
        mine = select(WorkflowInstance.id).where(WorkflowInstance.created_by == user_id)
        query = query.where(ActivityEvent.subject_type == "instance", ActivityEvent.subject_id.in_(mine))
    return list(db.session.scalars(query))
