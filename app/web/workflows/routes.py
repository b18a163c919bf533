"""Workflow pages: the list with live badges, upload (compared first if asked), one workflow with its
diagram, launch, and the diff of two versions."""

from __future__ import annotations

import hashlib
import string
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from app.bpmn import BpmnValidationError, decode_xml
from app.core.errors import Conflict, InvalidInput, NotFound
from app.lifecycle.states import WORKFLOW_STATUSES
from app.services import bulk, display, element_names, outages, upload_names, version_diffs
from app.services import workflows as service
from app.services.display import still_moving
from app.services.element_counts import CountsState, badges, element_counts, element_counts_state
from app.services.failed_jobs import create_job_of, retry_workflow
from app.services.launchable import launch_refusal
from app.services.launches import launch_instance
from app.web.access import current_actor, login_required
from app.web.charts import trends_context
from app.web.form_keys import one_time_form
from app.web.partials import cached_fragment
from app.web.variables import form_variables, typed_rows
from app.web.workflows.forms import LaunchForm, PreviewedUploadForm, TransferForm, UploadForm

bp = Blueprint("workflows", __name__, url_prefix="/workflows")
# What a URL-encoded form sends as one character: letters, digits, "_.-~", and space (as "+").
_KEPT = (string.ascii_letters + string.digits + "_.-~ ").encode()


@bp.get("")
@login_required
def index() -> str:
    return render_template("workflows/index.html", form=UploadForm(), **_list_context(), **_created_context())


@bp.get("/_created/<int:workflow_id>")
@login_required
def created(workflow_id: int) -> str:
    """The note on a version just uploaded, polled while it is creating; empty once it is active."""
    return render_template("workflows/_created.html", **_created_context(workflow_id))


def _created_context(workflow_id: int | None = None) -> dict[str, Any]:
    """The note on the version `?created=` names: its words and whether it still polls (none for an
    id that is no workflow: the list shows as ever)."""
    workflow_id = request.args.get("created", type=int) if workflow_id is None else workflow_id
    try:
        workflow = service.get_workflow_by_id(workflow_id, actor=current_actor()) if workflow_id else None
    except NotFound:
        workflow = None
    note = display.created_note(workflow) if workflow is not None else None
    return {"created": workflow, "created_note": note, "created_polls": workflow is not None and still_moving(workflow)}


@bp.post("")
@login_required
def upload() -> Any:
    form = UploadForm()
    if form.validate_on_submit():
        xml = _file_text(form)
        if xml is not None and _name_or_offered(form, xml):
            done = _create(form, xml)
            if done is not None:
                return done
    return render_template("workflows/index.html", form=form, **_list_context()), 422


@bp.post("/_preview")
@login_required
def preview() -> Any:
    """The upload form's "Compare" button: the diff against the deployed version, nothing stored.
    The page carries the file's text back for a confirming upload (see PreviewedUploadForm)."""
    form = UploadForm()
    if form.validate_on_submit():
        xml = _file_text(form)
        if xml is not None and _name_or_offered(form, xml):
            try:
                comparison = version_diffs.preview_upload(form.name.data, xml, actor=current_actor())
            except InvalidInput as exc:
                _attach_errors(form, exc)
            else:
                confirm = PreviewedUploadForm(
                    formdata=None,
                    name=comparison.name,
                    description=form.description.data,
                    mode=form.mode.data,
                    bpmn_xml=xml,
                    bpmn_sha256=_sha256(xml),
                )
                again = UploadForm(
                    formdata=None, name=comparison.name, description=form.description.data, mode=form.mode.data
                )
                return render_template(
                    "workflows/preview.html",
                    comparison=comparison,
                    confirm=confirm,
                    again=again,
                    carried=_fits_in_a_form(xml),
                    migrate_to={},  # the new version is not stored yet: nothing can move to it
                )
    return render_template("workflows/index.html", form=form, **_list_context()), 422


@bp.post("/_upload")
@login_required
def upload_previewed() -> Any:
    """The preview page's "Upload this version": the compared text, as create_workflow takes any upload."""
    confirm = PreviewedUploadForm()
    form = UploadForm(
        formdata=None, name=confirm.name.data, description=confirm.description.data, mode=confirm.mode.data or "async"
    )
    if confirm.validate_on_submit():
        chosen = _as_chosen(confirm.bpmn_xml.data, confirm.bpmn_sha256.data or "")
        if chosen is None:
            form.file.errors = ["the compared file did not come back as it was compared; choose it again"]
        else:
            done = _create(form, chosen)
            if done is not None:
                return done
    else:
        form.file.errors = [message for messages in confirm.errors.values() for message in messages]
    return render_template("workflows/index.html", form=form, **_list_context()), 422


@bp.post("/_offered_name")
@login_required
def offered_name() -> Response:
    """The name the chosen file offers ({"name": null} when none): the upload form fills its empty
    name field with it as soon as a file is chosen."""
    chosen = request.files.get("file")
    name = upload_names.offered_name(chosen.read()) if chosen else None
    return jsonify({"name": name})


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
    version = service.workflow_status_version(workflow_id, actor=current_actor())
    return cached_fragment(
        "workflows/_badge.html",
        version=version,
        context=lambda: _badge_context(service.get_workflow_by_id(workflow_id, actor=current_actor())),
    )


def _badge_context(workflow: Any) -> dict[str, Any]:
    """The badge's values: its status, whether it still polls, and whether it waits for SHAR."""
    return {
        "workflow": workflow,
        "badge_polls": still_moving(workflow),
        "waiting_for_shar": outages.is_waiting("workflow", workflow.id),
    }


@bp.get("/<name>")
@login_required
def show(name: str) -> str:
    return render_template("workflows/show.html", **_show_context(name, LaunchForm()))


@bp.get("/<name>/diff")
@login_required
def diff(name: str) -> str:
    """Two versions side by side: /workflows/NAME/diff?from=1&to=2, a page to share."""
    comparison = version_diffs.compare_versions(
        name, request.args.get("from"), request.args.get("to"), actor=current_actor()
    )
    offers = bulk.migration_offers(comparison.running, comparison.to_version, actor=current_actor())
    return render_template("workflows/diff.html", comparison=comparison, migrate_to=offers)


@bp.get("/<name>/_counts")
@login_required
def counts(name: str) -> Response:
    """How many instances wait at, or failed at, each element of one version (`?version=N`; all
    versions without it): the diagram's badges, polled while an instance is launching or running.
    Unchanged counts answer 304 after one small grouped read, without counting or rendering."""
    version = request.args.get("version") or None
    state = element_counts_state(name, version, actor=current_actor())
    return cached_fragment(
        "workflows/_counts.html", version=state.version, context=lambda: _counts_context(name, version, state)
    )


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
            launched = launch_instance(
                name,
                form_variables(),
                actor=current_actor(),
                callback_url=form.callback_url.data or None,
                process_id=form.process_id.data or None,
                message=form.message.data or None,
            )
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                target = {
                    "callback_url": form.callback_url,
                    "process_id": form.process_id,
                    "message": form.message,
                }.get(field, form.variables_json)
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


@bp.post("/<name>/retry")
@login_required
def retry(name: str) -> Any:
    try:
        retry_workflow(name, actor=current_actor())
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(f"the create of {name} is queued again; the status updates by itself", "success")
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
    return {
        "workflows": listing.items,
        "statistics": listing.statistics,
        "search": search,
        "status": status or "",
        "status_options": display.filter_options(WORKFLOW_STATUSES, status),
        "polling": listing.polling,
        "empty_message": display.empty_list_message(
            filtered=bool(search or status), things="workflows", unfiltered=" yet: upload a BPMN file to start"
        ),
    }


def _show_context(name: str, form: LaunchForm) -> dict[str, Any]:
    page = service.workflow_page(name, actor=current_actor())
    version = page.workflow.version  # the diagram drawn is this version's: its counts are its instances'
    state = element_counts_state(name, version, actor=current_actor())
    return {
        **_badge_context(page.workflow),
        "owner": page.owner,
        "versions": page.versions,
        "instances": page.instances,
        "actions": page.actions,
        "launch_refusal": launch_refusal(page.workflow),
        "typed_rows": typed_rows(),
        "form": form,
        "transfer_form": TransferForm(),
        "create_job": create_job_of(page.workflow, actor=current_actor()),
        "history": service.version_timeline(page.workflow),
        **trends_context("workflows.show", workflow_name=page.workflow.name, name=page.workflow.name),
        **_counts_context(name, version, state),
    }


def _counts_context(name: str, version: int | str | None, state: CountsState) -> dict[str, Any]:
    return {
        "counts": {element: badges(n) for element, n in element_counts(name, version, actor=current_actor()).items()},
        "counts_names": element_names.names_of_workflow(name, version),
        "counts_moving": state.moving,
        "counts_workflow": name,
        "counts_version": version,
    }


def _name_or_offered(form: UploadForm, xml: str) -> bool:
    """The name typed, else the one the file offers; False with the reason on the form when neither."""
    form.name.data = (form.name.data or "").strip() or upload_names.offered_name(xml) or ""
    if not form.name.data:
        form.name.errors = [*form.name.errors, "give the workflow a name: the file names no process"]
    return bool(form.name.data)


def _file_text(form: UploadForm) -> str | None:
    """The chosen file as text, read in the encoding it names (its byte order mark or XML declaration,
    else UTF-8), or None with the reason on the form."""
    data = form.file.data.read()
    if not data.strip():  # the service would say "bpmn_xml is required", the API's field, not this form's
        form.file.errors = [*form.file.errors, "the file is empty; choose a BPMN file"]
        return None
    try:
        return decode_xml(data)
    except BpmnValidationError as exc:
        form.file.errors = [*form.file.errors, exc.message]
        return None


def _create(form: UploadForm, xml: str) -> Response | None:
    """create_workflow from the form's fields: a redirect to the list, or None with the reasons on the form."""
    try:
        result = service.create_workflow(
            form.name.data,
            xml,
            actor=current_actor(),
            description=form.description.data or "",
            async_=form.mode.data != "wait",
        )
    except InvalidInput as exc:
        _attach_errors(form, exc)
    except Conflict as exc:
        form.name.errors = [*form.name.errors, exc.message]
    else:
        workflow = result.workflow
        if result.created and still_moving(workflow):
            # Said by a note that follows it (_created.html) and goes once it is active, not a flash
            # that would go on saying "creating".
            return redirect(url_for(".index", created=workflow.id))
        flash(
            f"{workflow.name} v{workflow.version} is {workflow.status}"
            if result.created
            else f"{workflow.name} v{workflow.version} already has this BPMN; nothing changed",
            "success" if workflow.status != "failed" else "error",
        )
        return redirect(url_for(".index"))
    return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _as_chosen(text: str, digest: str) -> str | None:
    """The compared file's text as it was chosen, or None when it is not that file: a form sends
    every line break as CRLF, so a file written with LF comes back with LF when its digest says so;
    a file of other line breaks (mixed, lone CR) cannot be restored and is chosen again."""
    for candidate in (text, text.replace("\r\n", "\n")):
        if _sha256(candidate) == digest:
            return candidate
    return None


def _fits_in_a_form(text: str) -> bool:
    """Whether the text, URL-encoded with CRLF line breaks as a browser posts it, stays under the
    request size limit; a larger file is chosen again instead of carried back. Counted, not encoded:
    a byte outside _KEPT takes 3 characters, a line break 6 (%0D%0A)."""
    raw = text.encode()
    encoded = len(raw) + 2 * len(raw.translate(None, _KEPT)) + 3 * raw.count(b"\n")
    return encoded + 8192 <= (current_app.config.get("MAX_CONTENT_LENGTH") or float("inf"))


def _attach_errors(form: UploadForm, exc: InvalidInput) -> None:
    fields = {"name": form.name, "bpmn_xml": form.file, "description": form.description}
    for field, messages in (exc.errors or {"bpmn_xml": [exc.message]}).items():
        target = fields.get(field, form.file)
        target.errors = [*target.errors, *messages]
