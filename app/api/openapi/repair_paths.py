"""The OpenAPI paths of repairing one instance in SHAR (app.api.repairs) and their answers' schemas:
each repair is a preview and the operation, with one body."""

from __future__ import annotations

from typing import Any

from app.api.openapi.bodies import EDIT_VARIABLES, MOVE
from app.api.openapi.parts import IDEMPOTENCY, INSTANCE_ID, answer, body, envelope, errors, ref

_REFUSALS = (
    "403 for a viewer or another user's instance (only its owner or an admin), 404 when you may not see it, "
    "409 when SHAR holds no token of it (a launch that never reached SHAR, an ended instance) or a repair of "
    "it is already queued, 501 when this SHAR does not offer the call (the instance's `unavailable_actions` "
    "says so)."
)


def _pair(what: str, body_schema: dict[str, Any], preview: str, description: str) -> dict[str, Any]:
    """The preview path and the operation path of one repair."""
    refused = errors(401, 403, 404, 409, 422, 501, 503)
    return {
        "preview": {
            "post": {
                "summary": f"Preview {what}: what it will do, from what sharboard stores (SHAR is not asked)",
                "description": description + " " + _REFUSALS,
                "parameters": [INSTANCE_ID],
                "requestBody": body(body_schema),
                "responses": {"200": answer("the preview", envelope(ref(preview))), **refused},
            }
        },
        "operation": {
            "post": {
                "summary": f"{what[0].upper()}{what[1:]} (a job; its owner or an admin)",
                "description": "Checked as the preview is; the timeline and audit entries and the job are "
                "stored together. A job that SHAR answers as not offering the call ends without "
                "retries and the action shows as unavailable. " + _REFUSALS,
                "parameters": [INSTANCE_ID, IDEMPOTENCY],
                "requestBody": body(body_schema),
                "responses": {"202": answer("queued", envelope(ref("RepairQueued"))), **refused},
            }
        },
    }


_MOVE = _pair(
    "moving the instance's token (retry from an element)",
    MOVE,
    "MovePreview",
    "Names the elements it leaves and enters and the variables it keeps. A failed instance moved off the "
    "element it failed at runs again. 422 for an element it does not stand at, an unknown element or "
    "one of another process.",
)
_VARIABLES = _pair(
    "changing the instance's variables in SHAR",
    EDIT_VARIABLES,
    "VariableEdit",
    "The old -> new diff per name, with launch's checks (types, limits, reserved names, the size of what "
    "the instance would hold). For an instance not yet in SHAR, PATCH this path instead.",
)
REPAIR_PATHS: dict[str, Any] = {
    "/api/shar/instances/{instance_id}/move/preview": _MOVE["preview"],
    "/api/shar/instances/{instance_id}/move": _MOVE["operation"],
    "/api/shar/instances/{instance_id}/variables/preview": _VARIABLES["preview"],
    "/api/shar/instances/{instance_id}/variables": _VARIABLES["operation"],
}

_IDS = {"type": "array", "items": {"type": "string"}}
_NAMES = {"type": "array", "items": {"type": ["string", "null"]}}
REPAIR_SCHEMAS: dict[str, Any] = {
    "MovePreview": {
        "type": "object",
        "required": ["instance_id", "from", "to", "left", "entered", "variables_kept", "summary"],
        "properties": {
            "instance_id": {"type": "string"},
            "from": _IDS,
            "to": {"type": "string"},
            "left": _IDS,
            "left_names": _NAMES,
            "entered": _IDS,
            "entered_names": _NAMES,
            "variables_kept": {"type": "array", "items": {"type": "string"}},
            "variables_set": {"type": "object"},
            "runs_again": {"type": "boolean", "description": "a failed instance that will run again"},
            "summary": {"type": "string", "description": "leaves X, enters Y, keeps variables ..."},
        },
    },
    "VariableEdit": {
        "type": "object",
        "required": ["instance_id", "added", "changed", "removed", "unchanged", "summary"],
        "properties": {
            "instance_id": {"type": "string"},
            "set": {"type": "object"},
            "remove": {"type": "array", "items": {"type": "string"}},
            "added": {"type": "object", "description": "name -> new value"},
            "changed": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": {"old": {}, "new": {}}},
                "description": "name -> {old, new}",
            },
            "removed": {"type": "object", "description": "name -> old value"},
            "unchanged": {"type": "integer", "description": "how many variables it leaves as they are"},
            "summary": {"type": "string"},
        },
    },
    "RepairQueued": {
        "type": "object",
        "required": ["instance_id", "preview", "job"],
        "properties": {
            "instance_id": {"type": "string"},
            "preview": {"anyOf": [ref("MovePreview"), ref("VariableEdit")]},
            "job": {"type": "object"},
        },
    },
}


def with_paths(paths: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`paths` with `extra`'s operations added, path by path (a path may take several methods)."""
    merged = {path: dict(operations) for path, operations in paths.items()}
    for path, operations in extra.items():
        merged.setdefault(path, {}).update(operations)
    return merged
