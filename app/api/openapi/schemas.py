"""The component schemas of the OpenAPI document (#/components/schemas)."""

from __future__ import annotations

from typing import Any

from app.api.openapi.parts import INSTANCE_STATUSES, WORKFLOW_STATUSES, ref
from app.bpmn.diff import FIELDS as DIFF_FIELDS
from app.services.access import INSTANCE_ACTIONS, WORKFLOW_ACTIONS
from app.services.bulk import ACTIONS as BULK_ACTIONS
from app.services.bulk import MAX_INSTANCES as BULK_MAX


def _actions(names: tuple[str, ...], description: str) -> dict[str, Any]:
    """A row's allowed_actions (services.access): the operation still checks when asked."""
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(names)},
        "uniqueItems": True,
        "description": description,
    }


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
            "current_activities": {
                "type": "array",
                "items": {"type": "string"},
                "description": "the element ids where it is: where a running one waits, where a failed one stopped",
            },
            "current_activity_names": {
                "type": "array",
                "items": {"type": ["string", "null"]},
                "description": "the names the workflow's file gives those elements, in the same order; "
                "null for an element the file gives no name (show its id)",
            },
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
                "complete a waiting task, deliver a message, stop tracking it (cancel), retry its failed launch, "
                "read the job behind it, move its token, change its variables in SHAR",
            ),
            "unavailable_actions": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "(on GET /instances/{id}) actions you could ask for but this SHAR does not "
                "offer, with why (asked anyway: 501)",
            },
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
        "diff": {"anyOf": [ref("VersionDiff"), {"type": "null"}]},
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
        "sample": {"type": "array", "maxItems": 10, "items": ref("Instance")},
        "parameters": {"type": ["object", "null"], "description": "the action's parameters as checked (migrate)"},
        "detail": {
            "anyOf": [ref("MigrationPreview"), {"type": "null"}],
            "description": "migrate: which of the set can move and which cannot and why, and the mapping form",
        },
    },
}
_ELEMENT_IDS = {"type": "array", "items": {"type": "string"}}
SCHEMAS["MigrationPreview"] = {
    "type": "object",
    "required": ["workflow", "target_version", "movable_count", "refused", "changed", "target_elements"],
    "description": "read from the stored versions and rows, SHAR not asked: lists hold at most 100 instances "
    "(the counts are whole)",
    "properties": {
        "workflow": {"type": "string"},
        "target_version": {"type": "integer"},
        "mapping": {"type": "object", "additionalProperties": {"type": "string"}},
        "movable": _ELEMENT_IDS,
        "movable_count": {"type": "integer"},
        "refused": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "instance_id": {"type": "string"},
                    "reason": {"type": "string"},
                    "elements": {**_ELEMENT_IDS, "description": "the elements without a counterpart in the target"},
                },
            },
        },
        "refused_count": {"type": "integer"},
        "changed": {
            "type": "array",
            "description": "the mapping form: elements of the instances' versions the target no longer has",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "label": {"type": "string"},
                    "versions": {"type": "array", "items": {"type": "integer"}},
                    "instances": {"type": "integer", "description": "of these instances standing there"},
                    "mapped_to": {"type": ["string", "null"]},
                },
            },
        },
        "target_elements": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "label": {"type": "string"}}},
        },
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
                ref("BulkPreview"),
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
        "parameters": {"type": ["object", "null"], "description": "migrate: workflow, version, mapping"},
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
