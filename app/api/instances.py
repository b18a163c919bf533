"""API: instances — list, read, complete, sync, edit variables, cancel. Users see their own only."""
from __future__ import annotations

from flask import Response, request
from sqlalchemy import func, select

from app.api import bp
from app.api.auth import api_user, token_required
from app.api.idempotent import idempotent
from app.api.responses import (
    flag,
    json_body,
    json_response,
    ok,
    optional_text,
    page_args,
    queued_message,
)
from app.errors import Conflict, InvalidInput
from app.extensions import db
from app.models import Workflow, WorkflowInstance
from app.serializers import instance_dict, job_dict
from app.services.instances import cancel_instance, complete_task, update_variables
from app.services.lookups import get_instance, visible_instances
from app.services.sync import queue_sync, sync_now
from app.services.workflows import check_callback
from app.shar import SharError
from app.status import INSTANCE_STATUSES


@bp.get("/instances")
@token_required()
def list_instances() -> Response:
    page, per_page = page_args()
    query = visible_instances(api_user())
    status = request.args.get("status")
    if status:
        if status not in INSTANCE_STATUSES:
            raise InvalidInput.field("status", f"status must be one of {', '.join(INSTANCE_STATUSES)}")
        query = query.where(WorkflowInstance.status == status)
    if request.args.get("workflow"):
        query = query.join(Workflow).where(Workflow.name == request.args["workflow"])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(WorkflowInstance.created_at.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return ok("Instances", {"items": [instance_dict(i) for i in rows], "page": page, "per_page": per_page,
                            "total": total}, etag=True)


@bp.get("/instances/<instance_id>")
@token_required()
def show_instance(instance_id: str) -> Response:
    return ok("Instance", instance_dict(get_instance(instance_id, api_user())), etag=True)


@bp.post("/instances/<instance_id>/complete")
@token_required(write=True)
@idempotent
def complete_instance(instance_id: str) -> Response:
    data = json_body()
    job = complete_task(instance_id, user=api_user(), variables=data.get("variables"))
    return ok(queued_message("Task completion", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)


@bp.post("/instances/<instance_id>/sync")
@token_required(write=True)
@idempotent
def sync_instance(instance_id: str) -> Response:
    data = json_body()
    instance = get_instance(instance_id, api_user())
    callback_url = optional_text(data, "callback_url")
    if flag(data, "async", True):
        job = queue_sync(instance_id, callback_url=callback_url, created_by=api_user().id)
        return ok(queued_message("Instance sync", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)
    callback_url = check_callback(callback_url)
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}; only running instances are synced")
    try:
        sync_now(instance, callback_url=callback_url)
    except SharError as exc:
        return json_response({"success": False, "message": f"Instance sync failed: {exc}",
                              "data": instance_dict(instance), "errors": {"shar": [str(exc)]}}, 502)
    return ok("Instance synced", instance_dict(instance))


@bp.patch("/instances/<instance_id>/variables")
@token_required(write=True)
def update_instance_variables(instance_id: str) -> Response:
    data = json_body()
    if "variables" not in data:
        raise InvalidInput.field("variables", "variables is required")
    instance = update_variables(instance_id, data["variables"], user=api_user())
    return ok("Variables updated", instance_dict(instance))


@bp.post("/instances/<instance_id>/cancel")
@token_required(write=True)
@idempotent
def cancel_instance_route(instance_id: str) -> Response:
    return ok("Instance cancelled; sharboard no longer tracks it", instance_dict(cancel_instance(instance_id, user=api_user())))
