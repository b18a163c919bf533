"""The OpenAPI paths of instances: the list, bulk operations, and what may be done to one instance."""

from __future__ import annotations

from typing import Any

from app.api.openapi.bodies import BULK, COMPLETE, MESSAGE, MIGRATE, SYNC, VARIABLES
from app.api.openapi.parts import (
    AGE_DESCRIPTION,
    IDEMPOTENCY,
    INSTANCE_ID,
    INSTANCE_STATUSES,
    PAGING,
    QUEUED,
    VAR_DESCRIPTION,
    answer,
    body,
    envelope,
    errors,
    ref,
)
from app.api.openapi.view_paths import COLUMNS_PARAMETER, CSV_ANSWER, EXPORT_PATHS, SORT_PARAMETER
from app.services.activities import MAX_ELEMENT_ID
from app.services.bulk import MAX_INSTANCES as BULK_MAX
from app.services.variable_filters import MAX_CONDITIONS

INSTANCE_PATHS: dict[str, Any] = {
    **EXPORT_PATHS,
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
                    "name": "mine",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["0", "1"]},
                    "description": "1: only the instances you launched (for admins and viewers, who see everyone's)",
                },
                {
                    "name": "var",
                    "in": "query",
                    "x-key-form": "var.",  # var.NAME[__op]=VALUE, one variable per key (the description below)
                    "style": "form",
                    "explode": True,
                    "schema": {"type": "array", "maxItems": MAX_CONDITIONS, "items": {"type": "string"}},
                    "description": VAR_DESCRIPTION,
                    "examples": {
                        "equality": {"value": ["orderId=A1"]},
                        "range": {"value": ["amount>=100", "amount<500"]},
                    },
                },
                SORT_PARAMETER,
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "next_cursor of the previous page (keyset paging; page is ignored); "
                    "the cursor's only name: `cursor` or `next_cursor` is refused (422)",
                },
            ],
            "description": "Filter by variables with `var=CONDITION` (repeatable) or, one variable per key, "
            "`var.NAME=VALUE` (equality) and `var.NAME__ne|__lt|__lte|__gt|__gte=VALUE` "
            "(`var.NAME__eq=VALUE` for a name that itself ends in such a suffix), e.g. "
            "`?var.orderId=A1&var.amount__gte=100`. Both forms follow the rules of `var`, "
            "share its limit of 5 conditions, and are joined by AND.",
            "responses": {
                "200": {
                    **answer("a page", envelope(ref("Page"))),
                    "content": {**answer("", envelope(ref("Page")))["content"], **CSV_ANSWER["content"]},
                },
                **errors(401, 422, 503),
            },
        }
    },
    "/api/shar/instances/bulk": {
        "post": {
            "summary": "Sync, stop tracking (cancel), retry or migrate the instances a filter selects, as one "
            "operation (a job)",
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
            "requestBody": body(BULK),
            "responses": {
                "200": answer("the preview", envelope(ref("BulkPreview"))),
                "202": answer("started", envelope(ref("BulkOperation"))),
                # 404: a migration to a version the workflow does not have
                **errors(401, 403, 404, 409, 422, 501, 503),
                "409": answer(
                    "nothing to do, or the set changed since the preview (then with the new preview)",
                    {"anyOf": [ref("Error"), ref("BulkPreviewChanged")]},
                ),
            },
        }
    },
    "/api/shar/instances/bulk/{operation_id}": {
        "get": {
            "summary": "A bulk operation's progress (yours, or any for admins)",
            "parameters": [{"name": "operation_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": answer("the operation", envelope(ref("BulkOperation"))),
                "304": {"description": "not modified"},
                **errors(401, 404, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}": {
        "get": {
            "summary": "One instance",
            "parameters": [INSTANCE_ID],
            "responses": {"200": answer("the instance", envelope(ref("Instance"))), **errors(401, 404, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/complete": {
        "post": {
            "summary": "Complete the waiting user task",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "description": "Queued as a job. 409 when the instance is not running or waits at no user task, "
            "and while a completion of it is already queued, running or retrying (the "
            "message names that job).",
            "requestBody": body(COMPLETE, False),
            "responses": {"202": QUEUED, **errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/messages": {
        "post": {
            "summary": "Deliver a message to an instance waiting at a message event or receive task (a job)",
            "description": "Sent to SHAR as the contract extension POST /api/v1/instances/{id}/messages "
            "(docs/messages.md). 409 when the instance waits for no message of that name.",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "requestBody": body(MESSAGE),
            "responses": {"202": QUEUED, **errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/sync": {
        "post": {
            "summary": "Sync from SHAR now (a job)",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "requestBody": body(SYNC, False),
            "responses": {
                "202": QUEUED,
                "200": answer("synced (async=false)", envelope(ref("Instance"))),
                **errors(401, 403, 404, 409, 422, 502, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}/variables": {
        "patch": {
            "summary": "Change the variables of an instance not yet in SHAR",
            "parameters": [INSTANCE_ID],
            "requestBody": body(VARIABLES),
            "responses": {
                "200": answer("updated", envelope(ref("Instance"))),
                **errors(401, 403, 404, 409, 422, 503),
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
            "responses": {"202": QUEUED, **errors(401, 403, 404, 409, 422, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/migrate/preview": {
        "post": {
            "summary": "What moving the instance to another version of its workflow would do (nothing stored)",
            "description": "Read from the stored versions and the instance's current elements, SHAR not asked: "
            "whether it can move (each element it stands at exists in the target by id, or through "
            "`mapping`), why not, and the mapping form (the elements of its version the target no longer "
            "has, with the target's elements). Its owner or an admin (403 for a viewer or another user's "
            "instance); 404 for an unknown version; 422 for an inactive version, its own version, another "
            "workflow, or a mapping to an element the target does not have.",
            "parameters": [INSTANCE_ID],
            "requestBody": body(MIGRATE),
            "responses": {
                "200": answer("the preview", envelope(ref("MigrationPreview"))),
                **errors(401, 403, 404, 422, 429, 501, 503),
            },
        }
    },
    "/api/shar/instances/{instance_id}/migrate": {
        "post": {
            "summary": "Move a running instance to another version of its workflow (its owner or an admin; a job)",
            "description": "Checked as the preview checks it, then queued: the job calls SHAR's "
            "POST /api/v1/instances/{id}/migrate and, on its answer, the instance runs the target "
            "version's diagram. 409 when it is not running or a migration of it is queued; 422 naming "
            "the elements without a counterpart. A SHAR without the call: the job records it and "
            "allowed_actions stops offering `migrate`.",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "requestBody": body(MIGRATE),
            "responses": {"202": QUEUED, **errors(401, 403, 404, 409, 422, 501, 503)},
        }
    },
    "/api/shar/instances/{instance_id}/cancel": {
        "post": {
            "summary": "Stop tracking an instance",
            "description": "SHAR has no call to stop an instance: one it has started keeps running there, "
            "and sharboard stops following it (status cancelled, shown to people as 'tracking stopped').",
            "parameters": [INSTANCE_ID, IDEMPOTENCY],
            "responses": {
                "200": answer("tracking stopped (status cancelled)", envelope(ref("Instance"))),
                **errors(401, 403, 404, 409, 422, 503),
            },
        }
    },
}
# The list as CSV: the same filters as the list (`var.NAME` forms too), every match, no paging.
INSTANCE_PATHS["/api/shar/instances.csv"] = {
    "get": {
        "summary": "The instances a filter selects, as CSV (also GET /api/shar/instances with Accept: text/csv)",
        "parameters": [
            p
            for p in INSTANCE_PATHS["/api/shar/instances"]["get"]["parameters"]
            if p.get("name") not in ("page", "per_page", "after")
        ]
        + [COLUMNS_PARAMETER],
        "responses": {"200": CSV_ANSWER, **errors(401, 422, 503)},
    }
}
