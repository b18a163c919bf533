"""Workflow pages: the list with live badges, upload, one workflow with its diagram, launch."""
from __future__ import annotations

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
from app.services import workflows as service
from app.services.instances import CountsState, element_counts, element_counts_state, launch_instance
from app.web.access import current_actor, login_required
from app.web.form_keys import one_time_form
from app.web.partials import cached_fragment
from app.web.workflows.forms import LaunchForm, TransferForm, UploadForm

bp = Blueprint("workflows", __name__, url_prefix="/workflows")


@bp.get("")
@login_required
def index() -> str:
    return render_template("workflows/index.html", form=UploadForm(), **_list_context())


@bp.post("")
@login_required
def upload() -> Any:
    form = UploadForm()
    if form.validate_on_submit():
        try:
            xml = form.file.data.read().decode("utf-8")
        except UnicodeDecodeError:
            form.file.errors.append("the file is not UTF-8 text; a BPMN file is XML")
        else:
            try:
                result = service.create_workflow(form.name.data, xml, actor=current_actor(),
                                                 description=form.description.data or "",
                                                 async_=form.mode.data != "wait")
            except InvalidInput as exc:
                _attach_errors(form, exc)
            except Conflict as exc:
                form.name.errors.append(exc.message)
            else:
                workflow = result.workflow
                flash(f"{workflow.name} v{workflow.version} is {workflow.status}" if result.created
                      else f"{workflow.name} v{workflow.version} already has this BPMN; nothing changed",
                      "success" if workflow.status != "failed" else "error")
                return redirect(url_for(".index"))
    return render_template("workflows/index.html", form=form, **_list_context()), 422


@bp.get("/_rows")
@login_required
def rows() -> Response:
    """The list's body, polled as one fragment while any badge is still moving; an unchanged
    list answers 304 after one aggregate read, without loading or rendering a row."""
    search, status = _filters()
    version = service.workflow_list_version(actor=current_actor(), search=search, status=status)
    return cached_fragment("workflows/_rows.html", version=version, context=_list_context)


@bp.get("/_badge/<int:workflow_id>")
@login_required
def badge(workflow_id: int) -> Response:
    workflow = service.get_workflow_by_id(workflow_id, actor=current_actor())
    return cached_fragment("workflows/_badge.html", version=f"{workflow.status}:{workflow.updated_at}",
                           workflow=workflow)


@bp.get("/<name>")
@login_required
def show(name: str) -> str:
    return render_template("workflows/show.html", **_show_context(name, LaunchForm()))


@bp.get("/<name>/_counts")
@login_required
def counts(name: str) -> Response:
    """How many instances wait at, or failed at, each element of one version (`?version=N`; all
    versions without it): the diagram's badges, polled while an instance is launching or running.
    Unchanged counts answer 304 after one small grouped read, without counting or rendering."""
    version = request.args.get("version") or None
    state = element_counts_state(name, version, actor=current_actor())
    return cached_fragment("workflows/_counts.html", version=state.version,
                           context=lambda: _counts_context(name, version, state))


@bp.get("/<name>/v<int:version>.bpmn")
@login_required
def bpmn(name: str, version: int) -> Response:
    workflow = service.get_version(name, version, actor=current_actor())
    response = Response(workflow.bpmn_xml, mimetype="application/xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.post("/<name>/launch")
@login_required
@one_time_form
def launch(name: str) -> Any:
    form = LaunchForm()
    if form.validate_on_submit():
        try:
            launched = launch_instance(name, _variables_from_form(form), actor=current_actor(),
                                       callback_url=form.callback_url.data or None,
                                       process_id=form.process_id.data or None,
                                       message=form.message.data or None)
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                target = {"callback_url": form.callback_url, "process_id": form.process_id,
                          "message": form.message}.get(field, form.variables_json)
                target.errors = [*target.errors, *messages]
        except Conflict as exc:
            form.variables_json.errors = [*form.variables_json.errors, exc.message]
        else:
            flash(f"instance of {name} is {launched.instance.status}", "success")
            return redirect(url_for("instances.show", instance_id=launched.instance.id))
    return render_template("workflows/show.html", **_show_context(name, form)), 422


@bp.post("/<name>/delete")
@login_required
def delete(name: str) -> Any:
    try:
        service.delete_workflow(name, actor=current_actor())
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(f"{name} is inactive and is being removed from SHAR", "success")
    return redirect(url_for(".show", name=name))


@bp.post("/<name>/owner")
@login_required
def transfer(name: str) -> Any:
    form = TransferForm()
    if form.validate_on_submit():
        try:
            row = service.transfer_workflow(name, form.owner.data, actor=current_actor())
        except InvalidInput as exc:
            flash(exc.message, "error")
        else:
            flash(f"{name} now belongs to {row.owner.email if row.owner else 'nobody'}", "success")
    return redirect(url_for(".show", name=name))


def _filters() -> tuple[str, str | None]:
    return (request.args.get("q") or "").strip(), request.args.get("status") or None


def _list_context() -> dict[str, Any]:
    search, status = _filters()
    listing = service.list_workflows(actor=current_actor(), search=search, status=status, with_total=False)
    return {"workflows": listing.items, "statistics": listing.statistics, "search": search, "status": status or "",
            "polling": listing.polling}


def _show_context(name: str, form: LaunchForm) -> dict[str, Any]:
    page = service.workflow_page(name, actor=current_actor())
    version = page.workflow.version  # the diagram drawn is this version's: its counts are its instances'
    state = element_counts_state(name, version, actor=current_actor())
    return {"workflow": page.workflow, "owner": page.owner, "versions": page.versions, "instances": page.instances,
            "can_change": page.can_change, "form": form, "transfer_form": TransferForm(),
            **_counts_context(name, version, state)}


def _counts_context(name: str, version: int | str | None, state: CountsState) -> dict[str, Any]:
    return {"counts": element_counts(name, version, actor=current_actor()), "counts_moving": state.moving,
            "counts_workflow": name, "counts_version": version}


def _variables_from_form(form: LaunchForm) -> dict[str, Any]:
    """Variables from the key/value rows, then the raw JSON on top (checked by app.json_input)."""
    return json_input.form_variables(zip(request.form.getlist("keys"), request.form.getlist("values"), strict=False),
                                     form.variables_json.data)


def _attach_errors(form: UploadForm, exc: InvalidInput) -> None:
    fields = {"name": form.name, "bpmn_xml": form.file, "description": form.description}
    for field, messages in (exc.errors or {"bpmn_xml": [exc.message]}).items():
        target = fields.get(field, form.file)
        target.errors = [*target.errors, *messages]
