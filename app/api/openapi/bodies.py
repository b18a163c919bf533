"""The request bodies: the routes read their fields from these (app.api.responses.json_body), so a
field the document does not name is refused (422), never silently ignored."""

from app.api.openapi.parts import AGE_DESCRIPTION, INSTANCE_STATUSES, VAR_DESCRIPTION
from app.services.activities import MAX_ELEMENT_ID
from app.services.bulk import ACTIONS as BULK_ACTIONS
from app.services.variable_filters import MAX_CONDITIONS

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
OWNER = {
    "type": "object",
    "required": ["owner"],
    "properties": {"owner": {"type": "string", "description": "the new owner's e-mail"}},
}
# Calls that take nothing (cancel, retry, delete): no body, or an empty object; anything else is refused
# rather than ignored, so a caller who meant to send something learns it was not read.
NOTHING = {"type": "object", "properties": {}, "additionalProperties": False}
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
_VERSION = {"type": "integer", "minimum": 1, "description": "the target version of the instances' workflow"}
_MAPPING = {
    "type": "object",
    "maxProperties": 200,
    "additionalProperties": {"type": "string"},
    "description": "old element id -> element id of the target version, for elements the target no longer "
    "has (an element it has is matched by id); an empty value maps nothing",
}
MIGRATE = {
    "type": "object",
    "required": ["version"],
    "properties": {
        "version": _VERSION,
        "mapping": _MAPPING,
        "workflow": {"type": "string", "description": "the instance's workflow (422 for another)"},
    },
}
MOVE = {
    "type": "object",
    "required": ["from", "to"],
    "properties": {
        "from": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}},
            ],
            "description": "where it stands now: an element id (or several) among its current activities, or "
            "the element a failed instance failed at",
        },
        "to": {
            "type": "string",
            "description": "where it should stand: an element of the instance's process (a task, event or "
            "gateway; an element already passed retries from there)",
        },
        "variables": {"type": "object", "description": "set where it is moved to (launch's checks)"},
    },
}
EDIT_VARIABLES = {
    "type": "object",
    "properties": {
        "set": {"type": "object", "description": "variables to set (launch's checks: types, limits, reserved names)"},
        "remove": {"type": "array", "maxItems": 200, "items": {"type": "string"}, "description": "names to remove"},
    },
}
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
            "description": "sync: running instances (queued in batch jobs); cancel: stop tracking launching or "
            "running ones (SHAR keeps running those it has started: it has no cancel call); "
            "retry: failed launches (admins; their launch job is retried); migrate: running instances of "
            "the filter's workflow move to version `parameters.version` (the filter must name the workflow)",
        },
        "filter": _BULK_FILTER,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "description": "migrate's (the other actions take none)",
            "properties": {"version": _VERSION, "mapping": _MAPPING},
        },
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
