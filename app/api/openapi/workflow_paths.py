"""The OpenAPI paths of workflows: create, list, read, delete, retry, hand over, diff, poll, launch,
and the statistics."""

from __future__ import annotations

from typing import Any

from app.api.openapi.bodies import CREATE, LAUNCH, OWNER, PREVIEW
from app.api.openapi.parts import (
    DIFF_BOUNDS,
    IDEMPOTENCY,
    NAME,
    PAGING,
    QUEUED,
    VERSION,
    WORKFLOW_STATUSES,
    answer,
    body,
    envelope,
    errors,
    ref,
)

WORKFLOW_PATHS: dict[str, Any] = {
    "/api/shar/workflows": {
        "post": {
            "summary": "Create a workflow (a new version if the name exists)",
            "parameters": [IDEMPOTENCY],
            "requestBody": body(CREATE),
            "responses": {
                "202": answer("creation queued", envelope(ref("Placeholder"))),
                "201": answer("created (async=false)", envelope(ref("Placeholder"))),
                "200": answer("unchanged: same BPMN as the latest version", envelope(ref("Placeholder"))),
                **errors(401, 403, 409, 413, 422, 502, 503),
            },
        },
        "get": {
            "summary": "Latest version of each workflow, with statistics",
            "parameters": [
                *PAGING,
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": WORKFLOW_STATUSES}},
            ],
            "responses": {"200": answer("a page", envelope(ref("Page"))), **errors(401, 422, 503)},
        },
    },
    "/api/shar/workflows/{name}": {
        "get": {
            "summary": "A workflow's latest version",
            "parameters": [NAME],
            "responses": {"200": answer("the workflow", envelope(ref("Workflow"))), **errors(401, 404, 503)},
        },
        "delete": {
            "summary": "Make it inactive and remove it from SHAR (a job)",
            "parameters": [NAME],
            "responses": {
                "202": answer("deletion queued", envelope(ref("Workflow"))),
                **errors(401, 403, 404, 409, 503),
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
            "responses": {"202": QUEUED, **errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/workflows/{name}/owner": {
        "put": {
            "summary": "Hand the workflow name to another user (admins)",
            "parameters": [NAME],
            "requestBody": body(OWNER),
            "responses": {
                "200": answer(
                    "handed over",
                    envelope(
                        {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "owner": {"type": ["string", "null"]}},
                        }
                    ),
                ),
                **errors(401, 403, 404, 422, 503),
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
                "200": answer("the diff", envelope(ref("Comparison"))),
                **errors(401, 404, 409, 422, 503),
            },
        },
        "post": {
            "summary": "What uploading a file would change against the deployed (latest active) version",
            "description": "The file gets the upload's checks (a refused file is a 422 naming every problem, "
            "as POST /api/shar/workflows); nothing is stored or queued. " + DIFF_BOUNDS,
            "parameters": [NAME],
            "requestBody": body(PREVIEW),
            "responses": {
                "200": answer("the diff (null with no active version)", envelope(ref("Comparison"))),
                **errors(401, 409, 413, 422, 503),
            },
        },
    },
    "/api/shar/workflows/{workflow_id}/status": {
        "get": {
            "summary": "Status for polling",
            "parameters": [{"name": "workflow_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": answer(
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
                **errors(401, 404, 503),
            },
        }
    },
    "/api/shar/workflows/{name}/launch": {
        "post": {
            "summary": "Launch an instance",
            "description": "422 names the reason when the workflow is a diagram only (no process of its file "
            "is marked executable), as it does for variables or a process that cannot be launched.",
            "parameters": [NAME, IDEMPOTENCY],
            "requestBody": body(LAUNCH, False),
            "responses": {
                "202": answer("launch queued", envelope(ref("Placeholder"))),
                "201": answer("launched (async=false)", envelope(ref("Placeholder"))),
                **errors(401, 403, 404, 409, 422, 502, 503),
            },
        }
    },
    "/api/shar/workflows/{name}/statistics": {
        "get": {
            "summary": "Statistics of one workflow",
            "parameters": [NAME],
            "responses": {"200": answer("statistics", envelope(ref("Statistics"))), **errors(401, 404, 503)},
        }
    },
    "/api/shar/statistics": {
        "get": {
            "summary": "Statistics of all instances",
            "responses": {"200": answer("statistics", envelope(ref("Statistics"))), **errors(401, 503)},
        }
    },
}
