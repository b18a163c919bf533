"""The building blocks of the OpenAPI document: schema references, answers, error answers, the requestBody
wrapper, the shared parameters and the descriptions several operations repeat."""

from __future__ import annotations

from typing import Any

from app.api.responses import MAX_PAGE
from app.lifecycle import states
from app.services.variable_filters import MAX_CONDITIONS, MAX_NAME, MAX_VALUE
from app.services.workflows import MAX_VERSION

WORKFLOW_STATUSES = list(states.WORKFLOW_STATUSES)
INSTANCE_STATUSES = list(states.INSTANCE_STATUSES)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "message", "data"],
        "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}, "data": data},
    }


def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    text = {
        401: "no valid token",
        403: "role may not",
        404: "unknown or not yours",
        409: "state forbids it",
        413: "upload over the limit",
        422: "invalid input",
        501: "this SHAR does not offer the call the operation needs (the action is unavailable, not broken)",
        502: "SHAR refused (blocking call)",
        503: "cannot accept work now (the queue is down, or SHAR is unreachable for a blocking call: "
        "nothing was stored); see Retry-After",
        429: "rate limit of this token reached; see Retry-After",
    }
    codes = (*codes, 429) if 401 in codes else codes  # every token-checked route is rate-limited per token
    return {str(code): answer(text[code], ref("Error")) for code in codes}


def body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {
        "required": required,
        "content": {"application/json": {"schema": {**schema, "additionalProperties": False}}},
    }


NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "string"}}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
QUEUED = answer("queued", envelope({"type": "object"}))
VAR_DESCRIPTION = (
    "A condition on a top-level variable, `NAME OP VALUE` (e.g. `orderId=A1`, `amount >= 100`): NAME is "
    f"letters, digits, `_` and `-` (at most {MAX_NAME}), OP one of `=`, `!=`, `<`, `<=`, `>`, `>=`, VALUE "
    f"the rest without surrounding spaces (at most {MAX_VALUE}). `=` matches a string equal to VALUE and, "
    "when VALUE is a JSON number or `true`/`false`, that number or boolean too (`amount=5` matches 5 and "
    '"5"); `!=` matches instances having the variable with another value; `<`, `<=`, `>`, `>=` compare '
    "numbers only (VALUE must be a number; only number variables match). Repeat for AND, at most "
    f"{MAX_CONDITIONS}; a bad condition is a 422 naming it under `errors.var`."
)

VERSION = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}
DIFF_BOUNDS = (
    "A diff costs CPU with its files: it compares files up to SHARBOARD_MAX_DIFF_BYTES (1 MiB by default; "
    "413 for a larger upload, 422 for a larger stored version, naming the size and the limit), and each "
    "person may have one diff under way (a second meanwhile is 429 with Retry-After) and "
    "SHARBOARD_DIFF_RATE_LIMIT of them (20 per minute by default; 429 with Retry-After), pages, API and CLI "
    "together."
)
AGE_DESCRIPTION = (
    "only instances created longer ago than this: a whole number and a unit, `s`, `m`, `h`, `d` or "
    "`w` (e.g. `30m`, `2h`, `3d`); 422 naming `older_than` otherwise"
)
