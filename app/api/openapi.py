"""The OpenAPI 3 document of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Response

from app.api.blueprints import docs_bp
from app.api.responses import MAX_PAGE, json_response
from app.bpmn.diff import FIELDS as DIFF_FIELDS
from app.lifecycle import states
from app.services.access import INSTANCE_ACTIONS, WORKFLOW_ACTIONS
from app.services.activities import MAX_ELEMENT_ID
from app.services.bulk import ACTIONS as BULK_ACTIONS
from app.services.bulk import MAX_INSTANCES as BULK_MAX
from app.services.variable_filters import MAX_CONDITIONS, MAX_NAME, MAX_VALUE
from app.services.workflows import MAX_VERSION

WORKFLOW_STATUSES = list(states.WORKFLOW_STATUSES)
INSTANCE_STATUSES = list(states.INSTANCE_STATUSES)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _actions(names: tuple[str, ...], description: str) -> dict[str, Any]:
    """A row's allowed_actions (services.access): the operation still checks when asked."""
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(names)},
        "uniqueItems": True,
        "description": description,
    }


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "message", "data"],
        "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}, "data": data},
    }


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        401: "no valid token",
        403: "role may not",
        404: "unknown or not yours",
        409: "state forbids it",
        413: "upload over the limit",
        422: "invalid input",
        502: "SHAR refused (blocking call)",
        503: "cannot accept work now (the queue is down, or SHAR is unreachable for a blocking call: "
        "nothing was stored); see Retry-After",
        429: "rate limit of this token reached; see Retry-After",
    }
    codes = (*codes, 429) if 401 in codes else codes  # every token-checked route is rate-limited per token
    return {str(code): _answer(text[code], _ref("Error")) for code in codes}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
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
QUEUED = _answer("queued", _envelope({"type": "object"}))
VAR_DESCRIPTION = (
    "A condition on a top-level variable, `NAME OP VALUE` (e.g. `orderId=A1`, `amount >= 100`): NAME is "
    f"letters, digits, `_` and `-` (at most {MAX_NAME}), OP one of `=`, `!=`, `<`, `<=`, `>`, `>=`, VALUE "
    f"the rest without surrounding spaces (at most {MAX_VALUE}). `=` matches a string equal to VALUE and, "
    "when VALUE is a JSON number or `true`/`false`, that number or boolean too (`amount=5` matches 5 and "
    '"5"); `!=` matches instances having the variable with another value; `<`, `<=`, `>`, `>=` compare '
    "numbers only (VALUE must be a number; only number variables match). Repeat for AND, at most "
    f"{MAX_CONDITIONS}; a bad condition is a 422 naming it under `errors.var`."
)

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["success", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "data": {"type": "object"},
        },
    },
    "Placeholder": {
        "type": "object",
        "required": ["id", "status", "async"],
        "properties": {
            "id": {"type": ["integer", "string"]},
            "name": {"type": "string"},
            "workflow_name": {"type": "string"},
            "status": {"type": "string"},
            "async": {"type": "boolean"},
        },
    },
    "Workflow": {
        "type": "object",
        "required": ["id", "name", "version", "status"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "status": {"type": "string", "enum": WORKFLOW_STATUSES},
            "error": {"type": ["string", "null"]},
            "waiting_for_shar": {
                "type": "boolean",
                "description": "its creation or deletion is held until SHAR is "
                "reachable again (nothing fails meanwhile)",
            },
            "allowed_actions": _actions(
                WORKFLOW_ACTIONS,
                "(on GET /workflows/{name}) what you may do to it now: "
                "launch, upload a new version, delete, hand over, retry its failed create, "
                "read the job behind it",
            ),
        },
    },
    "Instance": {
        "type": "object",
        "required": ["id", "workflow_name", "status", "variables"],
        "properties": {
            "id": {"type": "string"},
            "workflow_name": {"type": "string"},
            "status": {"type": "string", "enum": INSTANCE_STATUSES},
            "variables": {"type": "object"},
            "current_activities": {"type": "array", "items": {"type": "string"}},
            "process_id": {"type": ["string", "null"]},
            "start_message": {"type": ["string", "null"]},
            "waiting_for_shar": {
                "type": "boolean",
                "description": "its launch, completion, message or sync is held "
                "until SHAR is reachable again (nothing fails meanwhile)",
            },
            "allowed_actions": _actions(
                INSTANCE_ACTIONS,
                "(on GET /instances/{id}) what you may do to it now: sync, "
                "complete a waiting task, deliver a message, cancel, retry its failed launch, "
                "read the job behind it",
            ),
        },
    },
    "Statistics": {
        "type": "object",
        "required": ["total", "running", "completed", "failed"],
        "properties": {
            "total": {"type": "integer"},
            "running": {"type": "integer"},
            "completed": {"type": "integer"},
            "failed": {"type": "integer"},
            "average_duration_seconds": {"type": ["number", "null"]},
            "success_rate": {"type": ["number", "null"]},
        },
    },
    "Page": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer", "description": "exact up to 10,000; see total_capped"},
            "total_capped": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
}
_TEXT = {"type": ["string", "null"]}
_CHANGES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["field", "old", "new"],
        "properties": {"field": {"type": "string", "enum": [*DIFF_FIELDS, "executable"]}, "old": _TEXT, "new": _TEXT},
    },
}
_ELEMENT = {
    "type": "object",
    "required": ["id", *DIFF_FIELDS],
    "properties": {
        "id": {"type": "string"},
        **{f: _TEXT for f in DIFF_FIELDS},
        "tag": {"type": "string"},
        "changes": _CHANGES,
    },
}
_DIFFERENCE = {
    "type": "object",
    "required": ["id", "tag", "name", "process", "field", "old", "new"],
    "properties": {
        "id": {"type": "string"},
        "tag": {"type": "string"},
        "name": _TEXT,
        "process": _TEXT,
        "field": {"type": "string", "enum": ["condition", "timer"]},
        "old": _TEXT,
        "new": _TEXT,
    },
}
_PROCESS = {
    "type": "object",
    "required": ["id", "name", "executable"],
    "properties": {"id": {"type": "string"}, "name": _TEXT, "executable": {"type": "boolean"}, "changes": _CHANGES},
}
_DIFF_LISTS = {
    "processes_added": _PROCESS,
    "processes_removed": _PROCESS,
    "processes_changed": _PROCESS,
    "added": _ELEMENT,
    "removed": _ELEMENT,
    "changed": _ELEMENT,
    "conditions": _DIFFERENCE,
    "timers": _DIFFERENCE,
}
SCHEMAS["VersionDiff"] = {
    "type": "object",
    "required": ["identical", "limit", "unchanged", "without_id", *_DIFF_LISTS, "more"],
    "description": "Compared by element id across every process: flow nodes and sequence flows added, removed "
    "and changed (with each field that differs), the conditions and timers that differ (old -> "
    "new), and processes added, removed and changed. Each list holds at most `limit` entries; "
    "`more` counts those left off.",
    "properties": {
        "identical": {"type": "boolean"},
        "limit": {"type": "integer"},
        "unchanged": {"type": "integer"},
        "without_id": {"type": "integer", "description": "elements without an id, which cannot be compared"},
        **{name: {"type": "array", "items": item} for name, item in _DIFF_LISTS.items()},
        "more": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}
SCHEMAS["Comparison"] = {
    "type": "object",
    "required": ["name", "from_version", "to_version", "running", "running_total", "diff"],
    "properties": {
        "name": {"type": "string"},
        "from_version": {"type": ["integer", "null"], "description": "null: no active version to compare with"},
        "to_version": {"type": ["integer", "null"], "description": "null: the uploaded file"},
        "new_workflow": {"type": "boolean"},
        "next_version": {"type": ["integer", "null"]},
        "versions": {"type": "array", "items": {"type": "integer"}},
        "running": {
            "type": "array",
            "description": "instances launching or running, by version, of those you may see",
            "items": {
                "type": "object",
                "required": ["version", "instances"],
                "properties": {"version": {"type": "integer"}, "instances": {"type": "integer"}},
            },
        },
        "running_total": {"type": "integer"},
        "running_counts_all": {"type": "boolean"},
        "warnings": {"type": "array", "items": {"type": "object"}},
        "may_upload": {"type": "boolean"},
        "diff": {"anyOf": [_ref("VersionDiff"), {"type": "null"}]},
    },
}
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
_BULK_FILTER = {
    "type": "object",
    "additionalProperties": False,
    "description": "the instances of the list's filters (those you may see): every field is optional",
    "properties": {
        "status": {"type": "string", "enum": INSTANCE_STATUSES},
        "workflow": {"type": "string"},
        "version": {"type": "integer", "minimum": 1, "description": "one version of `workflow`"},
        "activity": {"type": "string", "maxLength": MAX_ELEMENT_ID},
        "var": {
            "anyOf": [{"type": "string"}, {"type": "array", "maxItems": MAX_CONDITIONS, "items": {"type": "string"}}],
            "description": VAR_DESCRIPTION,
        },
        "older_than": {"type": "string", "description": AGE_DESCRIPTION},
        "mine": {"type": "boolean", "description": "only your own instances (admins and viewers)"},
    },
}
BULK = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {
            "type": "string",
            "enum": list(BULK_ACTIONS),
            "description": "sync: running instances (queued in batch jobs); cancel: launching or running ones; "
            "retry: failed launches (admins; their launch job is retried)",
        },
        "filter": _BULK_FILTER,
        "preview": {
            "type": "boolean",
            "description": "true: only count them and show the newest 10, with the "
            "set's fingerprint; no operation is stored",
        },
        "fingerprint": {
            "type": "string",
            "description": "the preview's fingerprint: the operation starts only when "
            "the set is still the one previewed (409 with the new "
            "preview otherwise); without it, the set the filter selects "
            "when the request arrives",
        },
    },
}
SCHEMAS["BulkPreview"] = {
    "type": "object",
    "required": ["action", "filter", "count", "matched", "skipped", "applies_to", "sample"],
    "properties": {
        "action": {"type": "string", "enum": list(BULK_ACTIONS)},
        "filter": {"type": "object"},
        "count": {
            "type": "integer",
            "description": f"the filtered instances the action applies to (at most {BULK_MAX})",
        },
        "matched": {"type": "integer", "description": "the filtered instances"},
        "skipped": {"type": "integer", "description": "the filtered instances it does not apply to"},
        "applies_to": {"type": "string"},
        "fingerprint": {
            "type": "string",
            "description": "of the set it applies to: send it back to start the operation on exactly that set",
        },
        "sample": {"type": "array", "maxItems": 10, "items": _ref("Instance")},
    },
}
SCHEMAS["BulkPreviewChanged"] = {
    "type": "object",
    "required": ["success", "message", "errors", "data"],
    "description": "the set changed since the preview: nothing started; the new preview, and how the set changed",
    "properties": {
        "success": {"type": "boolean"},
        "message": {"type": "string"},
        "errors": {"type": "object"},
        "data": {
            "allOf": [
                _ref("BulkPreview"),
                {
                    "type": "object",
                    "properties": {
                        "added": {
                            "type": ["integer", "null"],
                            "description": "instances in the set now, not previewed "
                            "(null: the preview is no longer kept)",
                        },
                        "gone": {
                            "type": ["integer", "null"],
                            "description": "instances previewed, no longer in the set",
                        },
                    },
                },
            ]
        },
    },
}
SCHEMAS["BulkOperation"] = {
    "type": "object",
    "required": ["id", "action", "filter", "state", "total", "done", "failed"],
    "description": "done + failed count the instances the job has reached; state becomes finished when it "
    "reached them all",
    "properties": {
        "id": {"type": "integer"},
        "action": {"type": "string", "enum": list(BULK_ACTIONS)},
        "filter": {"type": "object"},
        "state": {"type": "string", "enum": ["running", "finished"]},
        "total": {"type": "integer"},
        "done": {"type": "integer"},
        "failed": {"type": "integer"},
        "skipped": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"instance_id": {"type": ["string", "null"]}, "error": {"type": "string"}},
            },
        },
        "requested_by": {"type": "string"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "finished_at": {"type": ["string", "null"]},
        "job": {"type": "object"},
    },
}
CREATE = {
    "type": "object",
    "required": ["name", "bpmn_xml"],
    "properties": {
        "name": {"type": "string"},
        "bpmn_xml": {"type": "string"},
        "description": {"type": "string"},
        "async": {"type": "boolean"},
        "callback_url": {"type": "string"},
    },
}
LAUNCH = {
    "type": "object",
    "properties": {
        "variables": {"type": "object"},
        "async": {"type": "boolean"},
        "callback_url": {"type": "string"},
        "process_id": {
            "type": "string",
            "description": "the process of a file with several (default: its only "
            "executable one; 422 lists the choices)",
        },
        "message": {
            "type": "string",
            "maxLength": 200,
            "description": "start the instance by this message, at its process's "
            "message start event of that name (422 lists the "
            "message starts; a sharlite contract extension)",
        },
    },
}
# The request bodies: the routes read their fields from these (app.api.responses.json_body), so a
# field the document does not name is refused (422), never silently ignored.
OWNER = {
    "type": "object",
    "required": ["owner"],
    "properties": {"owner": {"type": "string", "description": "the new owner's e-mail"}},
}
PREVIEW = {"type": "object", "required": ["bpmn_xml"], "properties": {"bpmn_xml": {"type": "string"}}}
COMPLETE = {"type": "object", "properties": {"variables": {"type": "object"}}}
SYNC = {"type": "object", "properties": {"callback_url": {"type": "string"}, "async": {"type": "boolean"}}}
VARIABLES = {"type": "object", "required": ["variables"], "properties": {"variables": {"type": "object"}}}
MESSAGE = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "description": "the message's name (<message name=...>; a receive task without a messageRef "
            "waits for its own name, else its id)",
        },
        "variables": {"type": "object", "description": "the message's payload, merged into the instance"},
    },
}

PATHS: dict[str, Any] = {
    "/api/shar/workflows": {
        "post": {
            "summary": "Create a workflow (a new version if the name exists)",
            "parameters": [IDEMPOTENCY],
            "requestBody": _body(CREATE),
            "responses": {
                "202": _answer("creation queued", _envelope(_ref("Placeholder"))),
                "201": _answer("created (async=false)", _envelope(_ref("Placeholder"))),
                "200": _answer("unchanged: same BPMN as the latest version", _envelope(_ref("Placeholder"))),
                **_errors(401, 403, 409, 413, 422, 502, 503),
            },
        },
        "get": {
            "summary": "Latest version of each workflow, with statistics",
            "parameters": [
                *PAGING,
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": WORKFLOW_STATUSES}},
            ],
            "responses": {"200": _answer("a page", _envelope(_ref("Page"))), **_errors(401, 422, 503)},
        },
    },
    "/api/shar/workflows/{name}": {
        "get": {
            "summary": "A workflow's latest version",
            "parameters": [NAME],
            "responses": {"200": _answer("the workflow", _envelope(_ref("Workflow"))), **_errors(401, 404, 503)},
        },
        "delete": {
            "summary": "Make it inactive and remove it from SHAR (a job)",
            "parameters": [NAME],
            "responses": {
                "202": _answer("deletion queued", _envelope(_ref("Workflow"))),
                **_errors(401, 403, 404, 409, 503),
            },
        },
    },
    "/api/shar/workflows/{name}/retry": {
        "post": {
            "summary": "Retry the failed create of the newest version (its owner or an admin; a job)",
            "description": "The failed create job runs again; its re-send first asks SHAR whether it already "
            "holds this BPMN and adopts it instead of creating it twice. 403 for a viewer and "
            "for another user's workflow; 409 when the newest version's create has not failed "
            "(or its job was pruned).",
            "parameters": [NAME, IDEMPOTENCY],
            "responses": {"202": QUEUED, **_errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/workflows/{name}/owner": {
        "put": {
            "summary": "Hand the workflow name to another user (admins)",
            "parameters": [NAME],
            "requestBody": _body(OWNER),
            "responses": {
                "200": _answer(
                    "handed over",
                    _envelope(
                        {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "owner": {"type": ["string", "null"]}},
                        }
                    ),
                ),
                **_errors(401, 403, 404, 422, 503),
            },
        }
    },
    "/api/shar/workflows/{name}/diff": {
        "get": {
            "summary": "What changed between two versions, and the instances still running them",
            "description": DIFF_BOUNDS,
            "parameters": [
                NAME,
                {"name": "from", "in": "query", "required": True, "schema": VERSION},
                {"name": "to", "in": "query", "required": True, "schema": VERSION},
            ],
            "responses": {
                "200": _answer("the diff", _envelope(_ref("Comparison"))),
                **_errors(401, 404, 409, 422, 503),
            },
        },
        "post": {
            "summary": "What uploading a file would change against the deployed (latest active) version",
            "description": "The file gets the upload's checks (a refused file is a 422 naming every problem, "
            "as POST /api/shar/workflows); nothing is stored or queued. " + DIFF_BOUNDS,
            "parameters": [NAME],
            "requestBody": _body(PREVIEW),
            "responses": {
                "200": _answer("the diff (null with no active version)", _envelope(_ref("Comparison"))),
                **_errors(401, 409, 413, 422, 503),
            },
        },
    },
    "/api/shar/workflows/{workflow_id}/status": {
        "get": {
            "summary": "Status for polling",
            "parameters": [{"name": "workflow_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": _answer(
                    "status",
                    {
                        "type": "object",
                        "required": ["status", "ready"],
                        "properties": {
                            "status": {"type": "string", "enum": WORKFLOW_STATUSES},
                            "ready": {"type": "boolean"},
                        },
                    },
                ),
                "304": {"description": "not modified"},
                **_errors(401, 404, 503),
            },
        }
    },
    "/api/shar/workflows/{name}/launch": {
        "post": {
            "summary": "Launch an instance",
            "parameters": [NAME, IDEMPOTENCY],
            "requestBody": _body(LAUNCH, False),
            "responses": {
                "202": _answer("launch queued", _envelope(_ref("Placeholder"))),
                "201": _answer("launched (async=false)", _envelope(_ref("Placeholder"))),
                **_errors(401, 403, 404, 409, 422, 502, 503),
            },
        }
    },
    "/api/shar/workflows/{name}/statistics": {
        "get": {
            "summary": "Statistics of one workflow",
            "parameters": [NAME],
            "responses": {"200": _answer("statistics", _envelope(_ref("Statistics"))), **_errors(401, 404, 503)},
        }
    },
    "/api/shar/statistics": {
        "get": {
            "summary": "Statistics of all instances",
            "responses": {"200": _answer("statistics", _envelope(_ref("Statistics"))), **_errors(401, 503)},
        }
    },
    "/api/shar/instances": {
        "get": {
            "summary": "Instances you may see",
            "parameters": [
                *PAGING,
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": INSTANCE_STATUSES}},
                {"name": "workflow", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "version",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "one version of `workflow` (422 without `workflow`)",
                },
                {
                    "name": "activity",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": MAX_ELEMENT_ID},
                    "description": "an element id: instances whose current activities hold it (a running instance "
                    "waits there; a failed one failed there)",
                },
                {"name": "older_than", "in": "query", "schema": {"type": "string"}, "description": AGE_DESCRIPTION},
                {
                    "name": "var",
                    "in": "query",
                    "style": "form",
                    "explode": True,
                    "schema": {"type": "array", "maxItems": MAX_CONDITIONS, "items": {"type": "string"}},
                    "description": VAR_DESCRIPTION,
                    "examples": {
                        "equality": {"value": ["orderId=A1"]},
                        "range": {"value": ["amount>=100", "amount<500"]},
                    },
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "next_cursor of the previous page (keyset paging; page is ignored)",
                },
            ],
            "description": "Filter by variables with `var=CONDITION` (repeatable) or, one variable per key, "
            "`var.NAME=VALUE` (equality) and `var.NAME__ne|__lt|__lte|__gt|__gte=VALUE` "
            "(`var.NAME__eq=VALUE` for a name that itself ends in such a suffix), e.g. "
            "`?var.orderId=A1&var.amount__gte=100`. Both forms follow the rules of `var`, "
            "share its limit of 5 conditions, and are joined by AND.",
            "responses": {"200": _answer("a page", _envelope(_ref("Page"))), **_errors(401, 422, 503)},
        }
    },
    "/api/shar/instances/bulk": {
        "post": {
            "summary": "Sync, cancel or retry the instances a filter selects, as one operation (a job)",
            "description": "With `preview: true`, how many of the filtered instances the action applies to, "
            "how many it skips, and the newest 10, nothing stored. Otherwise the operation "
            "starts: the ids it covers are taken now (422 above "
            f"{BULK_MAX:,}: narrow the filter; 409 when none), one audit entry is written, "
            "and one job runs the instance operation on each, as you, counting done and "
            "failed; poll GET /api/shar/instances/bulk/{operation_id}. Send the preview's "
            "`fingerprint` to act on exactly what was previewed: when the set changed "
            "since, nothing starts and the answer is 409 with the new preview and how many "
            "were added and gone.",
            "parameters": [IDEMPOTENCY],
            "requestBody": _body(BULK),
            "responses": {
                "200": _answer("the preview", _envelope(_ref("BulkPreview"))),
                "202": _answer("started", _envelope(_ref("BulkOperation"))),
                **_errors(401, 403, 409, 422, 503),
                "409": _answer(
                    "nothing to do, or the set changed since the preview (then with the new preview)",
                    {"anyOf": [_ref("Error"), _ref("BulkPreviewChanged")]},
                ),
            },
        }
    },
    "/api/shar/instances/bulk/{operation_id}": {
        "get": {
            "summary": "A bulk operation's progress (yours, or any for admins)",
            "parameters": [{"name": "operation_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": _answer("the operation", _envelope(_ref("BulkOperation"))),
                "304": {"description": "not modified"},
                **_errors(401, 404, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}": {
        "get": {
            "summary": "One instance",
            "parameters": [INSTANCE_ID],
            "responses": {"200": _answer("the instance", _envelope(_ref("Instance"))), **_errors(401, 404, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/complete": {
        "post": {
            "summary": "Complete the waiting user task",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "description": "Queued as a job. 409 when the instance is not running or waits at no user task, "
            "and while a completion of it is already queued, running or retrying (the "
            "message names that job).",
            "requestBody": _body(COMPLETE, False),
            "responses": {"202": QUEUED, **_errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/messages": {
        "post": {
            "summary": "Deliver a message to an instance waiting at a message event or receive task (a job)",
            "description": "Sent to SHAR as the contract extension POST /api/v1/instances/{id}/messages "
            "(docs/messages.md). 409 when the instance waits for no message of that name.",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "requestBody": _body(MESSAGE),
            "responses": {"202": QUEUED, **_errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/sync": {
        "post": {
            "summary": "Sync from SHAR now (a job)",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "requestBody": _body(SYNC, False),
            "responses": {
                "202": QUEUED,
                "200": _answer("synced (async=false)", _envelope(_ref("Instance"))),
                **_errors(401, 403, 404, 409, 422, 502, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}/variables": {
        "patch": {
            "summary": "Change the variables of an instance not yet in SHAR",
            "parameters": [INSTANCE_ID],
            "requestBody": _body(VARIABLES),
            "responses": {
                "200": _answer("updated", _envelope(_ref("Instance"))),
                **_errors(401, 403, 404, 409, 422, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}/retry": {
        "post": {
            "summary": "Retry an instance whose launch failed (its owner or an admin; a job)",
            "description": "The failed launch job runs again; a re-send first looks in SHAR for the instance "
            "an earlier request made and adopts it instead of launching a second one. 403 for "
            "a viewer; 404 for another user's instance; 409 for an instance whose launch did "
            "not fail (one that failed in SHAR cannot be run again: SHAR has no retry).",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "responses": {"202": QUEUED, **_errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/cancel": {
        "post": {
            "summary": "Stop tracking an instance",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "responses": {
                "200": _answer("cancelled", _envelope(_ref("Instance"))),
                **_errors(401, 403, 404, 409, 422, 503),
            },
        }
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "sharboard API",
        "version": "1.0.0",
        "description": "SHAR operations, answered at once; background jobs call SHAR.",
    },
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
}


@docs_bp.get("/openapi.json")
def document() -> Response:
    return json_response(DOCUMENT)
