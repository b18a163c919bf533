"""API: repairing an instance in SHAR. Each repair is a preview (200, nothing stored) and the operation
(202 with its job), with the same body: move its token, change its variables. Refusals go through the
API's error mapping (403 viewer, 404 not yours, 409 no token or a repair queued, 422 bad element or
variables, 501 this SHAR does not offer the call)."""

from __future__ import annotations

from flask import Response

from app.api.auth import api_user, token_required
from app.api.blueprints import bp
from app.api.idempotent import idempotent
from app.api.openapi import bodies
from app.api.responses import json_body, ok, queued_message
from app.core.serializers import job_dict, move_preview_dict, variable_edit_dict
from app.services import repairs


@bp.post("/instances/<instance_id>/move/preview")
@token_required
def preview_move(instance_id: str) -> Response:
    data = json_body(bodies.MOVE)
    preview = repairs.preview_move(
        instance_id, data.get("from"), data.get("to"), actor=api_user(), variables=data.get("variables")
    )
    return ok(f"The move {preview.summary}", move_preview_dict(preview))


@bp.post("/instances/<instance_id>/move")
@token_required
@idempotent
def move(instance_id: str) -> Response:
    data = json_body(bodies.MOVE)
    preview, job = repairs.move_instance(
        instance_id, data.get("from"), data.get("to"), actor=api_user(), variables=data.get("variables")
    )
    return ok(
        queued_message("Move", job),
        {"instance_id": instance_id, "preview": move_preview_dict(preview), "job": job_dict(job)},
        202,
    )


@bp.post("/instances/<instance_id>/variables/preview")
@token_required
def preview_variables(instance_id: str) -> Response:
    data = json_body(bodies.EDIT_VARIABLES)
    edit = repairs.preview_variable_edit(instance_id, data.get("set"), data.get("remove"), actor=api_user())
    return ok(f"The change {edit.summary}", variable_edit_dict(edit))


@bp.post("/instances/<instance_id>/variables")
@token_required
@idempotent
def edit_variables(instance_id: str) -> Response:
    data = json_body(bodies.EDIT_VARIABLES)
    edit, job = repairs.edit_variables(instance_id, data.get("set"), data.get("remove"), actor=api_user())
    return ok(
        queued_message("Variable change", job),
        {"instance_id": instance_id, "preview": variable_edit_dict(edit), "job": job_dict(job)},
        202,
    )
