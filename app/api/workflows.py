"""API: workflows — create (async by default), read, poll status, delete, statistics."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import func, select

from app.api import bp
from app.api.auth import api_user, own_instances_only, token_required
from app.api.idempotent import idempotent
from app.api.responses import (
    MAX_ID,
    flag,
    json_body,
    json_response,
    ok,
    optional_text,
    page_args,
    queued_message,
)
from app.config import current_settings
from app.errors import InvalidInput, PermissionDenied
from app.extensions import db
from app.json_input import upload_body_limit
from app.models import JobRecord, Workflow
from app.serializers import workflow_dict
from app.services.instances import launch_instance
from app.services.lookups import get_workflow, get_workflow_by_id, latest_versions_query
from app.services.statistics import instance_statistics, statistics_by_workflow_name
from app.services.workflows import create_workflow, delete_workflow
from app.status import WORKFLOW_STATUSES


@bp.post("/workflows")
@token_required(write=True)
@idempotent
def create_workflow_route() -> Response:
    data = json_body(max_bytes=upload_body_limit())  # the body carries the BPMN
    async_ = flag(data, "async", current_settings().shar_async_enabled)
    result = create_workflow(data.get("name"), data.get("bpmn_xml"), description=optional_text(data, "description") or "",
                             created_by=api_user().id, callback_url=optional_text(data, "callback_url"), async_=async_)
    workflow = result.workflow
    body = {"id": workflow.id, "name": workflow.name, "status": workflow.status, "async": async_}
    if not result.created:
        return ok(f"Workflow unchanged: version {workflow.version} already has this BPMN", body, 200)
    if not async_:
        if workflow.status != "active":
            return json_response({"success": False, "message": f"Workflow creation failed: {workflow.error}",
                                  "data": body, "errors": {"shar": [workflow.error or "unknown error"]}}, 502)
        return ok("Workflow created successfully", body, 201)
    return ok(_queued_message("Workflow creation", "workflow", workflow.id), body, 202)


@bp.post("/workflows/<name>/launch")
@token_required(write=True)
@idempotent
def launch_workflow(name: str) -> Response:
    data = json_body()
    async_ = flag(data, "async", current_settings().shar_async_enabled)
    instance = launch_instance(name, data.get("variables"), created_by=api_user().id,
                               callback_url=optional_text(data, "callback_url"), async_=async_)
    body = {"id": instance.id, "workflow_name": instance.workflow.name, "status": instance.status, "async": async_}
    if not async_:
        if instance.status == "failed":
            return json_response({"success": False, "message": f"Workflow instance launch failed: {instance.error}",
                                  "data": body, "errors": {"shar": [instance.error or "unknown error"]}}, 502)
        return ok("Workflow instance launched successfully", body, 201)
    return ok(_queued_message("Workflow instance launch", "instance", instance.id), body, 202)


@bp.get("/workflows")
@token_required()
def list_workflows() -> Response:
    page, per_page = page_args()
    query = latest_versions_query()
    status = request.args.get("status")
    if status:
        if status not in WORKFLOW_STATUSES:
            raise InvalidInput.field("status", f"status must be one of {', '.join(WORKFLOW_STATUSES)}")
        query = query.where(Workflow.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    workflows = list(db.session.scalars(query.order_by(Workflow.name).offset((page - 1) * per_page).limit(per_page)))
    statistics = statistics_by_workflow_name([w.name for w in workflows], created_by=own_instances_only())
    items = [{**workflow_dict(w), "statistics": statistics[w.name]} for w in workflows]
    return ok("Workflows", {"items": items, "page": page, "per_page": per_page, "total": total}, etag=True)


@bp.get("/workflows/<name>")
@token_required()
def show_workflow(name: str) -> Response:
    workflow = get_workflow(name)
    data = workflow_dict(workflow)
    data["versions"] = [v for (v,) in db.session.execute(
        select(Workflow.version).where(Workflow.name == name).order_by(Workflow.version))]
    return ok("Workflow", data, etag=True)


@bp.get(f"/workflows/<int(max={MAX_ID}):workflow_id>/status")
@token_required()
def workflow_status(workflow_id: int) -> Response:
    workflow = get_workflow_by_id(workflow_id)
    return json_response({"status": workflow.status, "ready": workflow.status == "active"}, etag=True)


@bp.delete("/workflows/<name>")
@token_required(write=True)
def delete_workflow_route(name: str) -> Response:
    workflow = get_workflow(name)
    if not (api_user().is_admin or workflow.created_by == api_user().id):
        raise PermissionDenied("only an admin or the workflow's creator may delete it")
    workflow = delete_workflow(name, actor=api_user())
    return ok("Workflow deletion queued; it is inactive and its history is kept", workflow_dict(workflow), 202)


@bp.get("/workflows/<name>/statistics")
@token_required()
def workflow_statistics(name: str) -> Response:
    get_workflow(name)
    return ok("Statistics", {"workflow": name, **instance_statistics(workflow_name=name,
                                                                     created_by=own_instances_only())}, etag=True)


@bp.get("/statistics")
@token_required()
def all_statistics() -> Response:
    return ok("Statistics", instance_statistics(created_by=own_instances_only()), etag=True)


def _queued_message(what: str, target_type: str, target_id: Any) -> str:
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_type == target_type,
                                                     JobRecord.target_id == str(target_id))
                             .order_by(JobRecord.id.desc()).limit(1)).first()
    return queued_message(what, job)
