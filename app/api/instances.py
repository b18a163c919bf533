"""API: instances — list, read, complete a waiting task, deliver a message, sync, edit variables, cancel,
migrate to another version (preview, then a job), and bulk actions (sync, stop tracking, retry, migrate the
instances a filter selects) with their progress."""

from __future__ import annotations

from flask import Response, request

from app.api.auth import api_user, token_required
from app.api.blueprints import bp
from app.api.idempotent import idempotent
from app.api.openapi import bodies
from app.api.responses import (
    flag,
    json_body,
    json_response,
    ok,
    optional_text,
    page_args,
    queued_message,
)
from app.core.conditional import versioned
from app.core.downloads import csv_download
from app.core.errors import InvalidInput, UpstreamFailed
from app.core.serializers import bulk_operation_dict, bulk_preview_dict, instance_dict, job_dict
from app.services import bulk, display, exports, instance_listing, outages, version_migrations
from app.services import instances as service
from app.services.access import actions_key, allowed_actions, unavailable_actions
from app.services.failed_jobs import retry_instance
from app.services.sync import request_sync, sync_instance_now


@bp.get("/instances")
@token_required
def list_instances() -> Response:
    if _wants_csv():
        return instances_csv()
    page, per_page = page_args()
    listing = instance_listing.list_instances(
        actor=api_user(),
        filters=_list_filter(),
        page=page,
        per_page=per_page,
        after=instance_listing.cursor_argument(request.args),
        sort=request.args.get("sort") or instance_listing.DEFAULT_SORT,
    )
    waiting = outages.waiting_for_shar("instance", [i.id for i in listing.items])
    return ok(
        "Instances",
        {
            "items": [instance_dict(i, waiting_for_shar=i.id in waiting) for i in listing.items],
            "page": page,
            "per_page": per_page,
            "total": listing.total,
            "total_capped": listing.total_capped,
            "next_cursor": listing.next_cursor,
        },
        etag=True,
    )


@bp.get("/instances.csv")
@token_required
def instances_csv() -> Response:
    """The list's filter (and `columns`, `sort`) as CSV: every matching instance, streamed."""
    instance_listing.cursor_argument(request.args, paged=False)
    chunks = exports.list_csv(
        _list_filter(), actor=api_user(), columns=request.args.get("columns") or "", sort=request.args.get("sort")
    )
    return csv_download(chunks, "instances.csv")


def _wants_csv() -> bool:
    """`Accept: text/csv` asks the list for CSV; JSON stays the answer to anything else (`*/*` too)."""
    accepted = request.accept_mimetypes
    return accepted["text/csv"] > accepted["application/json"] and accepted.find("text/csv") >= 0


def _list_filter() -> instance_listing.InstanceFilter:
    return instance_listing.InstanceFilter.from_arguments(request.args)


@bp.get("/instances/<instance_id>")
@token_required
def show_instance(instance_id: str) -> Response:
    # The version first, from a few columns: an unchanged poll loads nothing more.
    version = f"{instance_listing.instance_version(instance_id, actor=api_user())}:{actions_key(api_user())}"
    return versioned(version, lambda: ok("Instance", _instance_read(instance_id)))


def _instance_read(instance_id: str) -> dict[str, object]:
    """One instance as a read shows it: with what the caller may do to it now."""
    instance = service.get_instance(instance_id, actor=api_user())
    return {
        **instance_dict(instance, waiting_for_shar=outages.is_waiting("instance", instance_id)),
        "allowed_actions": sorted(allowed_actions(api_user(), instance)),
        "unavailable_actions": unavailable_actions(api_user(), instance),
    }


@bp.get("/instances/<instance_id>/export")
@token_required
def export_instance(instance_id: str) -> Response:
    """Its whole history (timeline, jobs and attempts, variables, audit entries), as much as the caller may read."""
    return ok("Instance history", exports.instance_history(instance_id, actor=api_user()))


@bp.post("/instances/<instance_id>/complete")
@token_required
@idempotent
def complete_task(instance_id: str) -> Response:
    data = json_body(bodies.COMPLETE)
    job = service.complete_task(instance_id, actor=api_user(), variables=data.get("variables"))
    return ok(queued_message("Task completion", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)


@bp.post("/instances/<instance_id>/messages")
@token_required
@idempotent
def deliver_message(instance_id: str) -> Response:
    data = json_body(bodies.MESSAGE)
    job = service.deliver_message(instance_id, data.get("name"), actor=api_user(), variables=data.get("variables"))
    return ok(queued_message("Message delivery", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)


@bp.post("/instances/<instance_id>/sync")
@token_required
@idempotent
def sync_instance(instance_id: str) -> Response:
    data = json_body(bodies.SYNC)
    callback_url = optional_text(data, "callback_url")
    if flag(data, "async", True):
        job = request_sync(instance_id, actor=api_user(), callback_url=callback_url)
        return ok(queued_message("Instance sync", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)
    try:
        instance = sync_instance_now(instance_id, actor=api_user(), callback_url=callback_url)
    except UpstreamFailed as exc:
        instance = service.get_instance(instance_id, actor=api_user())
        return json_response(
            {
                "success": False,
                "message": f"Instance sync failed: {exc.message}",
                "data": instance_dict(instance),
                "errors": {"shar": [exc.message]},
            },
            502,
        )
    return ok("Instance synced", instance_dict(instance))


@bp.patch("/instances/<instance_id>/variables")
@token_required
def update_instance_variables(instance_id: str) -> Response:
    data = json_body(bodies.VARIABLES)
    if "variables" not in data:
        raise InvalidInput.field("variables", "variables is required")
    return ok(
        "Variables updated", instance_dict(service.update_variables(instance_id, data["variables"], actor=api_user()))
    )


@bp.post("/instances/<instance_id>/retry")
@token_required
@idempotent
def retry_launch(instance_id: str) -> Response:
    json_body(bodies.NOTHING)
    job = retry_instance(instance_id, actor=api_user())
    return ok(queued_message("Launch retry", job), {"instance_id": instance_id, "job": job_dict(job)}, 202)


@bp.post("/instances/<instance_id>/cancel")
@token_required
@idempotent
def cancel_instance(instance_id: str) -> Response:
    json_body(bodies.NOTHING)
    instance = service.cancel_instance(instance_id, actor=api_user())
    return ok(display.tracking_stopped(instance), instance_dict(instance))


@bp.post("/instances/<instance_id>/migrate/preview")
@token_required
def migrate_preview(instance_id: str) -> Response:
    data = json_body(bodies.MIGRATE)
    preview = version_migrations.preview_migration(
        [instance_id], data.get("version"), data.get("mapping"), actor=api_user(), workflow=data.get("workflow")
    )
    can = "can" if preview.movable_count else "cannot"
    return ok(f"Instance {instance_id} {can} move to version {preview.target_version}", preview.to_dict())


@bp.post("/instances/<instance_id>/migrate")
@token_required
@idempotent
def migrate_instance(instance_id: str) -> Response:
    data = json_body(bodies.MIGRATE)
    queued = version_migrations.migrate_instance(
        instance_id, data.get("version"), data.get("mapping"), actor=api_user(), workflow=data.get("workflow")
    )
    return ok(
        queued_message(f"Migration to version {queued.target_version}", queued.job),
        {"instance_id": instance_id, "target_version": queued.target_version, "job": job_dict(queued.job)},
        202,
    )


@bp.post("/instances/bulk")
@token_required
@idempotent
def bulk_action() -> Response:
    """`{"action", "filter", "parameters", "preview", "fingerprint"}`: the preview (200), or the operation started
    (202); 409 with the new preview when the set is no longer the one the fingerprint names."""
    data = json_body(bodies.BULK)
    filters, action, parameters = bulk.instance_filter(data.get("filter")), data.get("action"), data.get("parameters")
    if flag(data, "preview", False):
        preview = bulk.preview_bulk(filters, action, actor=api_user(), parameters=parameters)
        return ok(
            f"Bulk {action} would apply to {preview.count} of {preview.matched} filtered instances",
            bulk_preview_dict(preview),
        )
    try:
        started = bulk.start_bulk(
            filters, action, actor=api_user(), previewed=data.get("fingerprint"), parameters=parameters
        )
    except bulk.PreviewChanged as exc:
        return json_response(
            {
                "success": False,
                "message": exc.message,
                "errors": {"fingerprint": [exc.message]},
                "data": {**bulk_preview_dict(exc.preview), "added": exc.added, "gone": exc.gone},
            },
            409,
        )
    return ok(
        queued_message(f"Bulk {action} of {started.operation.total} instances", started.job),
        {**bulk_operation_dict(started.operation), "job": job_dict(started.job)},
        202,
    )


@bp.get("/instances/bulk/<int:operation_id>")
@token_required
def show_bulk(operation_id: int) -> Response:
    operation = bulk.get_bulk(operation_id, actor=api_user())
    return versioned(bulk.bulk_version(operation), lambda: ok("Bulk operation", bulk_operation_dict(operation)))
