"""Instance pages: repairing one in SHAR. The "Move" and "Edit variables" forms post to a preview (an
htmx fragment under the form; the whole page without script), whose Confirm posts the same values."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.core import json_input
from app.core.errors import Conflict, InvalidInput, NotOffered
from app.services import repairs
from app.web.access import current_actor, login_required
from app.web.instances.routes import _instance, _show_context, bp
from app.web.partials import is_fragment_request

REFUSALS = (Conflict, InvalidInput, NotOffered)


@bp.post("/<instance_id>/move/preview")
@login_required
def move_preview(instance_id: str) -> Any:
    """What the move chosen in the form will do, with its Confirm; or why it cannot be made."""
    try:
        preview = repairs.preview_move(
            instance_id, _from(), request.form.get("to"), actor=current_actor(), variables=_variables()
        )
    except REFUSALS as exc:
        return _preview(instance_id, "move_error", exc.message, exc.status_code)
    return _preview(instance_id, "move_preview", preview, 200, variables_json=_canonical(preview.set_))


@bp.post("/<instance_id>/move")
@login_required
def move(instance_id: str) -> Any:
    """The preview's Confirm: the move is queued; the page shows it when SHAR has answered."""
    try:
        preview, _job = repairs.move_instance(
            instance_id, _from(), request.form.get("to"), actor=current_actor(), variables=_variables()
        )
    except REFUSALS as exc:
        flash(exc.message, "error")
    else:
        flash(f"move queued: it {preview.summary}; the page updates by itself", "success")
    return redirect(url_for(".show", instance_id=instance_id))


@bp.post("/<instance_id>/variables/preview")
@login_required
def variables_preview(instance_id: str) -> Any:
    """The old -> new diff of the edit typed in the form, with its Confirm; or why it is refused."""
    try:
        edit = repairs.preview_variable_edit(instance_id, _set(), _remove(), actor=current_actor())
    except REFUSALS as exc:
        return _preview(instance_id, "edit_error", exc.message, exc.status_code)
    return _preview(instance_id, "edit_preview", edit, 200, set_json=_canonical(edit.set_))


@bp.post("/<instance_id>/variables")
@login_required
def edit_variables(instance_id: str) -> Any:
    try:
        edit, _job = repairs.edit_variables(instance_id, _set(), _remove(), actor=current_actor())
    except REFUSALS as exc:
        flash(exc.message, "error")
    else:
        flash(f"variable change queued: {edit.summary}; the page updates by itself", "success")
    return redirect(url_for(".show", instance_id=instance_id))


def _preview(instance_id: str, name: str, value: Any, status: int, **extra: Any) -> Any:
    """The preview (or the refusal) as the fragment under its form, or, without script, the page with it."""
    template = "instances/_move_preview.html" if name.startswith("move") else "instances/_variables_preview.html"
    context = {name: value, **extra}
    if is_fragment_request():
        return render_template(template, **context), status
    page = render_template("instances/show.html", **{**_show_context(_instance(instance_id)), **context})
    return page, status


def _from() -> list[str]:
    return request.form.getlist("from")


def _variables() -> dict[str, Any]:
    return json_input.form_variables((), request.form.get("variables_json") or "")


def _set() -> dict[str, Any]:
    return json_input.form_variables((), request.form.get("set_json") or "")


def _remove() -> list[str]:
    """The names to remove, as typed: separated by commas or line breaks."""
    return [n.strip() for n in re.split(r"[,\n]", request.form.get("remove") or "") if n.strip()]


def _canonical(values: dict[str, Any]) -> str:
    """The values the Confirm posts again, as the preview read them."""
    return json.dumps(values, ensure_ascii=False) if values else ""
