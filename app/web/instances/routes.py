"""Instance pages: the list, one instance with its timeline and diagram, and the actions on it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.config import current_settings
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import ActivityEvent, Workflow, WorkflowInstance
from app.services.instances import cancel_instance, complete_task, waiting_user_tasks
from app.services.lookups import get_instance, visible_instances
from app.services.sync import queue_sync
from app.status import INSTANCE_STATUSES, TERMINAL
from app.web.access import writer_required
from app.web.partials import cached_fragment

bp = Blueprint("instances", __name__, url_prefix="/instances")
PAGE_SIZE = 50


@bp.get("")
@login_required
def index() -> str:
    return render_template("instances/index.html", **_list_context())


@bp.get("/_rows")
@login_required
def rows() -> Response:
    """The list's body, polled as one fragment; versioned by one aggregate read."""
    listed = _filtered_query().subquery()
    count, newest = db.session.execute(select(func.count(), func.max(listed.c.updated_at))).one()
    return cached_fragment("instances/_rows.html", version=f"{count}:{newest}", context=_list_context)


@bp.get("/<instance_id>")
@login_required
def show(instance_id: str) -> str:
    return render_template("instances/show.html", **_show_context(_instance_or_404(instance_id)))


@bp.get("/<instance_id>/_live")
@login_required
def live(instance_id: str) -> Response:
    """Status, activities and timeline of one instance, polled until its status is final."""
    instance = _instance_or_404(instance_id)
    version = f"{instance.status}:{instance.updated_at}:{instance.last_synced_at}:{_last_event_id(instance)}"
    return cached_fragment("instances/_live.html", version=version, context=lambda: _show_context(instance))


@bp.post("/<instance_id>/complete")
@login_required
@writer_required
def complete(instance_id: str) -> Any:
    return _act(instance_id, lambda: complete_task(instance_id, user=current_user),
                "completion queued; the status updates by itself")


@bp.post("/<instance_id>/sync")
@login_required
@writer_required
def sync(instance_id: str) -> Any:
    _instance_or_404(instance_id)
    return _act(instance_id, lambda: queue_sync(instance_id, created_by=current_user.id), "sync queued")


@bp.post("/<instance_id>/cancel")
@login_required
@writer_required
def cancel(instance_id: str) -> Any:
    return _act(instance_id, lambda: cancel_instance(instance_id, user=current_user), "instance cancelled")


def _act(instance_id: str, action: Any, done: str) -> Any:
    try:
        action()
    except NotFound:
        abort(404)
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for(".show", instance_id=instance_id))


def _instance_or_404(instance_id: str) -> WorkflowInstance:
    try:
        return get_instance(instance_id, current_user)
    except NotFound:
        abort(404)


def _last_event_id(instance: WorkflowInstance) -> int:
    return db.session.scalar(select(ActivityEvent.id).where(
        ActivityEvent.subject_type == "instance", ActivityEvent.subject_id == instance.id)
        .order_by(ActivityEvent.id.desc()).limit(1)) or 0


def _filtered_query():  # type: ignore[no-untyped-def]
    query = visible_instances(current_user).join(Workflow)
    if request.args.get("status") in INSTANCE_STATUSES:
        query = query.where(WorkflowInstance.status == request.args["status"])
    if (request.args.get("workflow") or "").strip():
        query = query.where(Workflow.name == request.args["workflow"].strip())
    if request.args.get("mine") == "1":
        query = query.where(WorkflowInstance.created_by == current_user.id)
    return query


def _list_context() -> dict[str, Any]:
    status = request.args.get("status") or ""
    workflow = (request.args.get("workflow") or "").strip()
    mine = request.args.get("mine") == "1"
    query = _filtered_query()
    instances = list(db.session.scalars(query.order_by(WorkflowInstance.created_at.desc()).limit(PAGE_SIZE)))
    return {"instances": instances, "status": status, "workflow_filter": workflow, "mine": mine,
            "statuses": INSTANCE_STATUSES, "polling": any(i.status not in TERMINAL for i in instances),
            "poll_interval": current_settings().poll_interval}


def _show_context(instance: WorkflowInstance) -> dict[str, Any]:
    timeline = list(db.session.scalars(select(ActivityEvent).where(
        ActivityEvent.subject_type == "instance", ActivityEvent.subject_id == instance.id)
        .order_by(ActivityEvent.created_at, ActivityEvent.id)))
    return {"instance": instance, "timeline": timeline, "waiting": waiting_user_tasks(instance),
            "polling": instance.status not in TERMINAL, "poll_interval": current_settings().poll_interval}
