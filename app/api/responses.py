"""The API's envelopes: `{"success": true, "message", "data"}` and errors with per-field messages."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request

from app.services import outcomes
from app.services.launches import Launched
from app.services.outcomes import Outcome
from app.services.workflows import CreateResult

MAX_PAGE = 1_000_000  # keeps the row offset inside a 64-bit integer


def ok(message: str, data: Any, status: int = 200, *, etag: bool = False) -> Response:
    return json_response({"success": True, "message": message, "data": data}, status, etag=etag)


def fail(
    message: str, status: int, errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    response = json_response({"success": False, "message": message, "errors": errors or {}}, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_QUEUED = {
    Outcome.WAITING_FOR_SHAR: "{what} stored; SHAR is unreachable, so it waits and runs as soon as SHAR answers",
    Outcome.STORED: "{what} stored; the queue is unavailable, so it will be queued when the queue is back",
    Outcome.QUEUED: "{what} queued successfully",
}


def queued_message(what: str, job: Any) -> str:
    """ "<what> queued successfully", or, when Redis refused the job or SHAR is unreachable, that it is
    stored and runs later."""
    return _QUEUED[outcomes.of_job(job)].format(what=what)


def result_response(
    result: CreateResult | Launched, what: str, body: dict[str, Any], *, done: str, unchanged: str = ""
) -> Response:
    """A create's or launch's answer, by its outcome: made now 201, nothing new 200, refused by SHAR
    502 (with SHAR's error), queued (or stored, or held for SHAR) 202."""
    outcome = result.outcome
    if outcome is Outcome.FAILED:
        return json_response(
            {
                "success": False,
                "message": f"{what} failed: {result.error}",
                "data": body,
                "errors": {"shar": [result.error or "unknown error"]},
            },
            502,
        )
    if outcome is Outcome.DONE:
        return ok(done, body, 201)
    if outcome is Outcome.UNCHANGED:
        return ok(unchanged, body, 200)
    return ok(queued_message(what, result.job), body, 202)


def json_response(body: Any, status: int = 200, *, etag: bool = False) -> Response:
    """A JSON response; with `etag`, a strong ETag and 304 when the client has this body."""
    text = json.dumps(body, default=str)
    response = Response(text, status=status, mimetype="application/json")
    if etag:
        response.set_etag(hashlib.sha256(text.encode()).hexdigest()[:32])
        response.headers["Cache-Control"] = "no-cache, private"
        response = response.make_conditional(request)
    return response


def json_body(schema: dict[str, Any], *, max_bytes: int | None = None) -> dict[str, Any]:
    """The request's JSON object, holding only the fields `schema` (its OpenAPI document) names;
    InvalidInput naming the problem otherwise (app.core.json_input: size, depth, strict). An unknown field
    is refused rather than ignored: `{"varibles": ...}` would otherwise launch without variables."""
    from app.core import json_input
    from app.core.errors import InvalidInput

    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    data = json_input.loads_object(raw, max_bytes=max_bytes)
    fields = list(schema["properties"])
    unknown = [name for name in data if name not in schema["properties"]]
    if unknown:
        takes = "this request takes " + ", ".join(fields) if fields else "this request takes no body"
        raise InvalidInput.field(unknown[0][:100], f"unknown field {unknown[0][:100]!r}; {takes}")
    return data


def flag(data: dict[str, Any], name: str, default: bool) -> bool:
    value = optional_flag(data, name)
    return default if value is None else value


def optional_flag(data: dict[str, Any], name: str) -> bool | None:
    """`name` as sent, true or false; None when it was not sent (the service's default applies)."""
    from app.core.errors import InvalidInput

    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, bool):
        raise InvalidInput.field(name, f"{name} must be true or false")
    return value


def optional_text(data: dict[str, Any], name: str) -> str | None:
    from app.core.errors import InvalidInput

    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput.field(name, f"{name} must be a string")
    return value or None


def page_args(max_per_page: int = 100) -> tuple[int, int]:
    """`page` and `per_page` from the query; InvalidInput names the one that is wrong."""
    from app.core.json_input import whole_number

    return (
        whole_number(request.args.get("page", 1), "page", 1, MAX_PAGE),
        whole_number(request.args.get("per_page", 20), "per_page", 1, max_per_page),
    )
