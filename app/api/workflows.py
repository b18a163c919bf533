"""API: workflows — create (async by default), read, poll status, delete, hand over, statistics, and the
diff of two versions or of an upload against the deployed one."""

from __future__ import annotations

from flask import Response, request

from app.api.auth import api_user, token_required
from app.api.blueprints import bp
from app.api.idempotent import idempotent
from app.api.openapi import bodies
from app.api.responses import (
    json_body,
    json_response,
    ok,
    optional_flag,
    optional_text,
    page_args,
    queued_message,
    result_response,
)
from app.core.json_input import upload_body_limit
from app.core.serializers import job_dict, workflow_dict
from app.services import outages, version_diffs
from app.services import workflows as service
from app.services.access import allowed_actions
from app.services.failed_jobs import retry_workflow
from app.services.launches import launch_instance
from app.services.statistics import statistics


@bp.post("/workflows")
@token_required
@idempotent
def create_workflow() -> Response:
    data = json_body(bodies.CREATE, max_bytes=upload_body_limit())  # the body carries the BPMN
    result = service.create_workflow(
        data.get("name"),
        data.get("bpmn_xml"),
        actor=api_user(),
        description=data.get("description"),
        callback_url=optional_text(data, "callback_url"),
        async_=optional_flag(data, "async"),
    )
    workflow = result.workflow
    body = {"id": workflow.id, "name": workflow.name, "status": workflow.status, "async": result.async_}
    return result_response(
        result,
        "Workflow creation",
        body,
        done="Workflow created successfully",
        unchanged=f"Workflow unchanged: version {workflow.version} already has this BPMN",
    )


@bp.post("/workflows/<name>/launch")
@token_required
@idempotent
def launch_workflow(name: str) -> Response:
    data = json_body(bodies.LAUNCH)
    launched = launch_instance(
        name,
        data.get("variables"),
        actor=api_user(),
        callback_url=optional_text(data, "callback_url"),
        async_=optional_flag(data, "async"),
        process_id=data.get("process_id"),
        message=data.get("message"),
    )
    instance = launched.instance
    body = {
        "id": instance.id,
        "workflow_name": instance.workflow.name,
        "status": instance.status,
        "async": launched.async_,
    }
    return result_response(launched, "Workflow instance launch", body, done="Workflow instance launched successfully")


@bp.get("/workflows")
@token_required
def list_workflows() -> Response:
    page, per_page = page_args()
    listing = service.list_workflows(
        actor=api_user(), status=request.args.get("status") or None, page=page, per_page=per_page
    )
    waiting = outages.waiting_for_shar("workflow", [w.id for w in listing.items])
    items = [
        {**workflow_dict(w, waiting_for_shar=str(w.id) in waiting), "statistics": listing.statistics[w.name]}
        for w in listing.items
    ]
    return ok("Workflows", {"items": items, "page": page, "per_page": per_page, "total": listing.total}, etag=True)


@bp.get("/workflows/<name>")
@token_required
def show_workflow(name: str) -> Response:
    workflow = service.get_workflow(name, actor=api_user())
    data = workflow_dict(workflow, waiting_for_shar=outages.is_waiting("workflow", workflow.id))
    data["allowed_actions"] = sorted(allowed_actions(api_user(), workflow))
    data["versions"] = service.version_numbers(name, actor=api_user())
    owner = service.workflow_owner(name)
    data["owner"] = owner.email if owner else None
    return ok("Workflow", data, etag=True)


@bp.get("/workflows/<name>/diff")
@token_required
def diff_versions(name: str) -> Response:
    comparison = version_diffs.compare_versions(
        name, request.args.get("from"), request.args.get("to"), actor=api_user()
    )
    return ok(
        f"Version {comparison.from_version} against version {comparison.to_version}", comparison.to_dict(), etag=True
    )


@bp.post("/workflows/<name>/diff")
@token_required
def preview_upload(name: str) -> Response:
    data = json_body(bodies.PREVIEW, max_bytes=upload_body_limit())  # the body carries the BPMN
    comparison = version_diffs.preview_upload(name, data.get("bpmn_xml"), actor=api_user())
    if comparison.from_version is None:
        message = (
            "A new workflow: nothing to compare with"
            if comparison.new_workflow
            else "No version is active: nothing deployed to compare with"
        )
    else:
        message = f"The file against version {comparison.from_version}, the deployed one; nothing was stored"
    return ok(message, comparison.to_dict())


@bp.get("/workflows/<int:workflow_id>/status")
@token_required
def workflow_status(workflow_id: int) -> Response:
    workflow = service.get_workflow_by_id(workflow_id, actor=api_user())
    return json_response({"status": workflow.status, "ready": service.is_ready(workflow)}, etag=True)


@bp.delete("/workflows/<name>")
@token_required
def delete_workflow(name: str) -> Response:
    json_body(bodies.NOTHING)
    result = service.delete_workflow(name, actor=api_user())
    return ok("Workflow deletion queued; it is inactive and its history is kept", workflow_dict(result.workflow), 202)


@bp.post("/workflows/<name>/retry")
@token_required
@idempotent
def retry_create(name: str) -> Response:
    json_body(bodies.NOTHING)
    job = retry_workflow(name, actor=api_user())
    return ok(queued_message("Workflow creation retry", job), {"name": name, "job": job_dict(job)}, 202)


@bp.put("/workflows/<name>/owner")
@token_required
def transfer_workflow(name: str) -> Response:
    data = json_body(bodies.OWNER)
    row = service.transfer_workflow(name, optional_text(data, "owner") or "", actor=api_user())
    return ok("Workflow handed over", {"name": name, "owner": row.owner.email if row.owner else None})


@bp.get("/workflows/<name>/statistics")
@token_required
def workflow_statistics(name: str) -> Response:
    return ok("Statistics", {"workflow": name, **statistics(actor=api_user(), workflow_name=name)}, etag=True)


@bp.get("/statistics")
@token_required
def all_statistics() -> Response:
    return ok("Statistics", statistics(actor=api_user()), etag=True)
