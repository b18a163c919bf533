"""Instance pages: the list, one instance with its timeline and diagram, the actions on it, and bulk
actions on the list's filter (preview, confirm, progress)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from app.core import json_input
from app.core.downloads import csv_download, json_download
from app.core.errors import Conflict, InvalidInput
from app.security.redirects import safe_next
from app.services import bulk, display, element_names, exports, outages, repairs, story
from app.services import instances as service
from app.services.access import allowed_actions, unavailable_actions
from app.services.completions import completion_state
from app.services.failed_jobs import launch_job_of, retry_instance
from app.services.instance_listing import (
    MAX_SHORT_ID_MATCHES,
    InstanceFilter,
    cursor_argument,
    instance_list_version,
    instances_by_short_id,
    is_short_id,
    live_version,
)
from app.services.sync import request_sync
from app.web.access import current_actor, login_required
from app.web.form_keys import new_form_key, one_time_form
from app.web.instances.listing import (
    MAP_PREFIX,
    bulk_parameters,
    filter_args,
    filter_fields,
    filters_from,
    list_context,
)
from app.web.partials import cached_fragment, is_fragment_request
from app.web.variables import form_variables

bp = Blueprint("instances", __name__, url_prefix="/instances")


@bp.get("")
@login_required
def index() -> Any:
    context = list_context()
    return render_template("instances/index.html", **context), 422 if context["filter_error"] else 200


@bp.get("/_rows")
@login_required
def rows() -> Response:
    """The list's body, polled as one fragment; versioned by one aggregate read."""
    cursor_argument(request.args, paged=False)
    sort = request.args.get("sort") or None
    version = instance_list_version(actor=current_actor(), filters=filters_from(), sort=sort)
    return cached_fragment("instances/_rows.html", version=version, context=list_context)


@bp.get("/export.csv")
@login_required
def export_list() -> Response:
    """The list's "Download CSV": every instance of its filter, with its columns, streamed."""
    cursor_argument(request.args, paged=False)
    chunks = exports.list_csv(
        filters_from(), actor=current_actor(), columns=request.args.get("columns") or "", sort=request.args.get("sort")
    )
    return csv_download(chunks, "instances.csv")


@bp.get("/bulk/preview")
@login_required
def bulk_preview() -> Any:
    """The list's "Bulk action" form: what the action would do to the filtered instances; nothing stored."""
    filters = filters_from()
    try:
        preview = bulk.preview_bulk(
            filters, request.args.get("action", ""), actor=current_actor(), parameters=bulk_parameters(request.args)
        )
    except InvalidInput as exc:  # a bad filter, an unknown action, too many: said on the list
        return _list_with_error(filters, exc)
    return _preview_page(preview, filters)


def _preview_page(
    preview: bulk.BulkPreview, filters: InstanceFilter, changed: bulk.PreviewChanged | None = None
) -> Any:
    """The preview with its Confirm form (a new key, the set's fingerprint); after a confirm whose
    set had changed, that said above it (409)."""
    page = render_template(
        "instances/bulk_preview.html",
        preview=preview,
        filter_fields=filter_fields(filters),
        form_key=new_form_key(),
        list_url=url_for(".index", **filter_args(filters)),
        max_instances=bulk.MAX_INSTANCES,
        changed=changed,
        map_prefix=MAP_PREFIX,
    )
    return (page, 409) if changed is not None else page


@bp.post("/bulk")
@login_required
@one_time_form
def bulk_start() -> Any:
    """The preview's Confirm: the operation starts on the set previewed; its progress page follows
    it. When the set has changed since, the new preview is shown, saying how, to confirm again."""
    filters = filters_from(request.form)
    try:
        started = bulk.start_bulk(
            filters,
            request.form.get("action", ""),
            actor=current_actor(),
            previewed=request.form.get("fingerprint"),  # the preview's form carries it, and the parameters
            parameters=bulk_parameters(request.form),
        )
    except bulk.PreviewChanged as exc:
        return _preview_page(exc.preview, filters, exc)
    except (Conflict, InvalidInput) as exc:
        return _list_with_error(filters, exc)
    flash(
        f"bulk {bulk.action_label(started.operation.action)} of {started.operation.total} instances started", "success"
    )
    return redirect(url_for(".bulk_progress", operation_id=started.operation.id))


@bp.get("/bulk/<int:operation_id>")
@login_required
def bulk_progress(operation_id: int) -> str:
    operation = bulk.get_bulk(operation_id, actor=current_actor())
    return render_template("instances/bulk.html", operation=operation, polling=bulk.still_running(operation))


@bp.get("/bulk/<int:operation_id>/_progress")
@login_required
def bulk_progress_fragment(operation_id: int) -> Response:
    """Done, failed and total, polled until the operation has finished."""
    operation = bulk.get_bulk(operation_id, actor=current_actor())
    return cached_fragment(
        "instances/_bulk_progress.html",
        version=bulk.bulk_version(operation),
        operation=operation,
        polling=bulk.still_running(operation),
    )


@bp.get("/<instance_id>")
@login_required
def show(instance_id: str) -> Any:
    if is_short_id(instance_id):
        return _by_short_id(instance_id)
    return render_template("instances/show.html", **_show_context(_instance(instance_id)))


def _by_short_id(short_id: str) -> Any:
    """The first characters of an id, as the list shows them, pasted into a URL: the instance when
    only one starts so, else the ones that do (300, Multiple Choices); none is a 404 naming it."""
    matches = instances_by_short_id(short_id, actor=current_actor())
    if len(matches) == 1:
        return redirect(url_for(".show", instance_id=matches[0].id))
    page = render_template(
        "instances/matches.html",
        short_id=short_id,
        matches=matches[:MAX_SHORT_ID_MATCHES],
        more=len(matches) > MAX_SHORT_ID_MATCHES,
    )
    return page, 300


@bp.get("/<instance_id>/export.json")
@login_required
def export_instance(instance_id: str) -> Response:
    """The instance's whole history, as much as the reader may see (services.exports)."""
    return json_download(exports.instance_history(instance_id, actor=current_actor()), f"instance-{instance_id}.json")


@bp.get("/<instance_id>/_live")
@login_required
def live(instance_id: str) -> Response:
    """Status, activities and timeline of one instance, polled until its status is final."""
    version = live_version(instance_id, actor=current_actor())
    return cached_fragment(
        "instances/_live.html",
        version=version,
        context=lambda: _show_context(service.get_instance(instance_id, actor=current_actor())),
    )


@bp.post("/<instance_id>/complete")
@login_required
def complete(instance_id: str) -> Any:
    """Complete the waiting task with the form's variables (rows and JSON, as a launch takes them).
    From the page (htmx), the answer is the live fragment: "completing…" until the job answers, or
    the refusal above the form as typed (422, 409); without script, a flash and the page again."""
    if not is_fragment_request():
        return _act(
            instance_id,
            lambda: service.complete_task(instance_id, actor=current_actor(), variables=form_variables()),
            "completion queued; the status updates by itself",
        )
    try:
        service.complete_task(instance_id, actor=current_actor(), variables=form_variables())
    except (Conflict, InvalidInput) as exc:
        context = {**_show_context(_instance(instance_id)), "completion_errors": [exc.message]}
        return render_template("instances/_live.html", **context), exc.status_code
    return render_template("instances/_live.html", **_show_context(_instance(instance_id)))


@bp.post("/<instance_id>/messages")
@login_required
def message(instance_id: str) -> Any:
    name = (request.form.get("name") or "").strip()
    try:
        variables = json_input.form_variables((), request.form.get("variables_json") or "")
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for(".show", instance_id=instance_id))
    return _act(
        instance_id,
        lambda: service.deliver_message(instance_id, name, actor=current_actor(), variables=variables),
        f"message {name} queued for delivery; the status updates by itself",
    )


@bp.post("/<instance_id>/sync")
@login_required
def sync(instance_id: str) -> Any:
    return _act(instance_id, lambda: request_sync(instance_id, actor=current_actor()), "sync queued")


@bp.post("/<instance_id>/retry")
@login_required
def retry(instance_id: str) -> Any:
    return _act(
        instance_id,
        lambda: retry_instance(instance_id, actor=current_actor()),
        "launch queued again; the status updates by itself",
    )


@bp.post("/<instance_id>/cancel")
@login_required
def cancel(instance_id: str) -> Any:
    return _act(
        instance_id, lambda: service.cancel_instance(instance_id, actor=current_actor()), display.tracking_stopped
    )


def _act(instance_id: str, action: Callable[[], Any], done: str | Callable[[Any], str]) -> Any:
    """Run an action; a refusal that leaves the page useful (409, 422) is flashed on it, the
    instance's page or the list it was sent from (`next`, e.g. the stuck instances). `done` says
    what happened, or makes it from the action's result."""
    try:
        result = action()
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    else:
        flash(done if isinstance(done, str) else done(result), "success")
    return redirect(safe_next(request.form.get("next"), "instances.show", instance_id=instance_id))


def _instance(instance_id: str):  # type: ignore[no-untyped-def]
    return service.get_instance(instance_id, actor=current_actor())


def _list_with_error(filters: InstanceFilter, exc: InvalidInput | Conflict) -> Any:
    """The list of `filters` with a refusal said above it (a bulk action's)."""
    context = list_context(filters)
    return render_template(
        "instances/index.html", **{**context, "filter_error": context["filter_error"] or exc.message}
    ), exc.status_code


def _show_context(instance: Any) -> dict[str, Any]:
    return {
        "instance": instance,
        "timeline": service.timeline(instance),
        "waiting": service.waiting_user_tasks(instance),
        "completion": completion_state(instance),
        "completion_errors": [],
        "message_waits": service.waiting_messages(instance),
        "launch_job": launch_job_of(instance, actor=current_actor()),
        "actions": allowed_actions(current_actor(), instance),
        "activities_label": display.activities_label(instance),
        "names": element_names.names_of(instance.workflow),
        "story": story.story_of(instance),
        "polling": display.still_moving(instance),
        "waiting_for_shar": outages.is_waiting("instance", instance.id),
        # The repair forms (repair_routes): what they offer, and their preview once asked for.
        "unavailable": unavailable_actions(current_actor(), instance),
        "move_choices": repairs.move_choices(instance),
        "move_preview": None,
        "move_error": None,
        "edit_preview": None,
        "edit_error": None,
    }
