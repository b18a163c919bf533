"""Instance pages: the list, one instance with its timeline and diagram, and the actions on it."""
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

from app import json_input
from app.errors import Conflict, InvalidInput
from app.services import instances as service
from app.services.sync import request_sync
from app.states import INSTANCE_STATUSES
from app.web.access import current_actor, login_required
from app.web.partials import cached_fragment

bp = Blueprint("instances", __name__, url_prefix="/instances")
PAGE_SIZE = 50


@bp.get("")
@login_required
def index() -> Any:
    context = _list_context()
    return render_template("instances/index.html", **context), 422 if context["filter_error"] else 200


@bp.get("/_rows")
@login_required
def rows() -> Response:
    """The list's body, polled as one fragment; versioned by one aggregate read."""
    version = service.instance_list_version(actor=current_actor(), filters=_filters())
    return cached_fragment("instances/_rows.html", version=version, context=_list_context)


@bp.get("/<instance_id>")
@login_required
def show(instance_id: str) -> str:
    return render_template("instances/show.html", **_show_context(_instance(instance_id)))


@bp.get("/<instance_id>/_live")
@login_required
def live(instance_id: str) -> Response:
    """Status, activities and timeline of one instance, polled until its status is final."""
    instance = _instance(instance_id)
    return cached_fragment("instances/_live.html", version=service.live_version(instance),
                           context=lambda: _show_context(instance))


@bp.post("/<instance_id>/complete")
@login_required
def complete(instance_id: str) -> Any:
    return _act(instance_id, lambda: service.complete_task(instance_id, actor=current_actor()),
                "completion queued; the status updates by itself")


@bp.post("/<instance_id>/messages")
@login_required
def message(instance_id: str) -> Any:
    name = (request.form.get("name") or "").strip()
    try:
        variables = json_input.form_variables((), request.form.get("variables_json") or "")
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for(".show", instance_id=instance_id))
    return _act(instance_id, lambda: service.deliver_message(instance_id, name, actor=current_actor(),
                                                             variables=variables),
                f"message {name} queued for delivery; the status updates by itself")


@bp.post("/<instance_id>/sync")
@login_required
def sync(instance_id: str) -> Any:
    return _act(instance_id, lambda: request_sync(instance_id, actor=current_actor()), "sync queued")


@bp.post("/<instance_id>/cancel")
@login_required
def cancel(instance_id: str) -> Any:
    return _act(instance_id, lambda: service.cancel_instance(instance_id, actor=current_actor()),
                "instance cancelled")


def _act(instance_id: str, action: Callable[[], object], done: str) -> Any:
    """Run an action; a refusal that leaves the page useful (409, 422) is flashed on it."""
    try:
        action()
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for(".show", instance_id=instance_id))


def _instance(instance_id: str):  # type: ignore[no-untyped-def]
    return service.get_instance(instance_id, actor=current_actor())


def _filters() -> service.InstanceFilter:
    status = request.args.get("status")
    return service.InstanceFilter(status=status if status in INSTANCE_STATUSES else None,
                                  workflow=(request.args.get("workflow") or "").strip() or None,
                                  mine=request.args.get("mine") == "1",
                                  variables=tuple(v for v in request.args.getlist("var") if v.strip()),
                                  version=(request.args.get("version") or "").strip() or None,
                                  activity=(request.args.get("activity") or "").strip() or None)


def _list_context() -> dict[str, Any]:
    filters = _filters()
    try:
        listing = service.list_instances(actor=current_actor(), filters=filters, per_page=PAGE_SIZE,
                                         with_total=False)
    except InvalidInput as exc:  # a bad condition, version or element: said next to the filter, nothing listed
        instances, polling, error = [], False, exc.message
    else:
        instances, polling, error = listing.items, listing.polling, None
    return {"instances": instances, "status": filters.status or "", "workflow_filter": filters.workflow or "",
            "mine": filters.mine, "var_filters": list(filters.variables), "filter_error": error,
            "version_filter": filters.version or "", "activity_filter": filters.activity or "",
            "statuses": INSTANCE_STATUSES, "polling": polling}


def _show_context(instance: Any) -> dict[str, Any]:
    return {"instance": instance, "timeline": service.timeline(instance),
            "waiting": service.waiting_user_tasks(instance), "message_waits": service.waiting_messages(instance),
            "polling": instance.status not in service.TERMINAL}
