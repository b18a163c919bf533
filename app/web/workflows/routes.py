"""Workflow pages: the list with live badges, upload, one workflow with its diagram, launch."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import json_input
from app.config import current_settings
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Workflow, WorkflowInstance
from app.security.form_keys import one_time_form
from app.services.instances import launch_instance
from app.services.lookups import get_workflow, latest_versions_query, visible_instances
from app.services.workflows import create_workflow, delete_workflow
from app.status import TERMINAL
from app.web.access import writer_required
from app.web.partials import cached_fragment
from app.web.workflows.forms import LaunchForm, UploadForm

bp = Blueprint("workflows", __name__, url_prefix="/workflows")


@bp.get("")
@login_required
def index() -> str:
    return render_template("workflows/index.html", form=UploadForm(), **_list_context())


@bp.post("")
@login_required
@writer_required
def upload() -> Any:
    form = UploadForm()
    if form.validate_on_submit():
        try:
            xml = form.file.data.read().decode("utf-8")
        except UnicodeDecodeError:
            form.file.errors.append("the file is not UTF-8 text; a BPMN file is XML")
        else:
            try:
                result = create_workflow(form.name.data, xml, description=form.description.data or "",
                                         created_by=current_user.id, async_=form.mode.data != "wait")
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
    """The list's body, polled as one fragment while any badge is still moving.

    Its version is one aggregate read (rows, newest change, instance count), so an
    unchanged list answers 304 without loading or rendering a row.
    """
    listed = _filtered_query().subquery()
    count, newest = db.session.execute(select(func.count(), func.max(listed.c.updated_at))).one()
    instances = db.session.scalar(select(func.count()).select_from(WorkflowInstance))
    return cached_fragment("workflows/_rows.html", version=f"{count}:{newest}:{instances}",
                           context=_list_context)


@bp.get("/_badge/<int:workflow_id>")
@login_required
def badge(workflow_id: int) -> Response:
    workflow = db.session.get(Workflow, workflow_id) or abort(404)
    return cached_fragment("workflows/_badge.html", version=f"{workflow.status}:{workflow.updated_at}",
                           workflow=workflow)


@bp.get("/<name>")
@login_required
def show(name: str) -> str:
    workflow = _workflow_or_404(name)
    return render_template("workflows/show.html", **_show_context(workflow, LaunchForm()))


@bp.get("/<name>/v<int:version>.bpmn")
@login_required
def bpmn(name: str, version: int) -> Response:
    workflow = db.session.scalars(select(Workflow).where(Workflow.name == name, Workflow.version == version)).first()
    if workflow is None:
        abort(404)
    response = Response(workflow.bpmn_xml, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.post("/<name>/launch")
@login_required
@writer_required
@one_time_form
def launch(name: str) -> Any:
    workflow = _workflow_or_404(name)
    form = LaunchForm()
    if form.validate_on_submit():
        try:
            variables = _variables_from_form(form)
            instance = launch_instance(name, variables, created_by=current_user.id,
                                       callback_url=form.callback_url.data or None)
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                target = form.callback_url if field == "callback_url" else form.variables_json
                target.errors = [*target.errors, *messages]
        except Conflict as exc:
            form.variables_json.errors = [*form.variables_json.errors, exc.message]
        else:
            flash(f"instance of {name} is {instance.status}", "success")
            return redirect(url_for("instances.show", instance_id=instance.id))
    return render_template("workflows/show.html", **_show_context(workflow, form)), 422


@bp.post("/<name>/delete")
@login_required
@writer_required
def delete(name: str) -> Any:
    workflow = _workflow_or_404(name)
    if not (current_user.is_admin or workflow.created_by == current_user.id):
        abort(403)
    try:
        delete_workflow(name, actor=current_user)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(f"{name} is inactive and is being removed from SHAR", "success")
    return redirect(url_for(".show", name=name))


def _workflow_or_404(name: str) -> Workflow:
    try:
        return get_workflow(name)
    except NotFound:
        abort(404)


def _filtered_query():  # type: ignore[no-untyped-def]
    query = latest_versions_query()
    search = (request.args.get("q") or "").strip()
    if search:
        query = query.where(Workflow.name.ilike(f"%{search}%"))
    if request.args.get("status"):
        query = query.where(Workflow.status == request.args["status"])
    return query


def _list_context() -> dict[str, Any]:
    search = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    workflows = list(db.session.scalars(_filtered_query().order_by(Workflow.name).limit(500)))
    counts = dict(db.session.execute(
        select(WorkflowInstance.workflow_id, func.count()).where(
            WorkflowInstance.workflow_id.in_([w.id for w in workflows])).group_by(WorkflowInstance.workflow_id)).all())
    polling = any(w.status not in TERMINAL for w in workflows)
    return {"workflows": workflows, "counts": counts, "search": search, "status": status, "polling": polling,
            "poll_interval": current_settings().poll_interval}


def _show_context(workflow: Workflow, form: LaunchForm) -> dict[str, Any]:
    versions = list(db.session.scalars(select(Workflow).where(Workflow.name == workflow.name)
                                       .order_by(Workflow.version.desc())))
    instances = list(db.session.scalars(
        visible_instances(current_user).join(Workflow).where(Workflow.name == workflow.name)
        .order_by(WorkflowInstance.created_at.desc()).limit(50)))
    return {"workflow": workflow, "versions": versions, "instances": instances, "form": form,
            "poll_interval": current_settings().poll_interval}


def _variables_from_form(form: LaunchForm) -> dict[str, Any]:
    """Variables from the key/value rows, then the raw JSON on top (checked by app.json_input)."""
    return json_input.form_variables(zip(request.form.getlist("keys"), request.form.getlist("values"), strict=False),
                                     form.variables_json.data)


def _attach_errors(form: UploadForm, exc: InvalidInput) -> None:
    fields = {"name": form.name, "bpmn_xml": form.file, "description": form.description}
    for field, messages in (exc.errors or {"bpmn_xml": [exc.message]}).items():
        target = fields.get(field, form.file)
        target.errors = [*target.errors, *messages]
