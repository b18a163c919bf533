"""The OpenAPI paths of saved views and exports (an instance's history, a filtered list as CSV), with their
bodies and schemas."""

from __future__ import annotations

from typing import Any

from app.api.openapi.parts import INSTANCE_ID, answer, body, envelope, errors, ref
from app.core.routing import MAX_ID
from app.services.instance_listing import SORTS
from app.services.saved_views import MAX_NAME
from app.services.variable_filters import MAX_COLUMNS

# Ids past what the column holds match no route (app.core.routing): PATCH and DELETE then answer 405.
VIEW_ID = {
    "name": "view_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
}
_NO_SUCH_ID = {"405": answer("an id past what the column holds: no such route", ref("Error"))}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_COLUMNS = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "maxItems": MAX_COLUMNS, "items": {"type": "string"}},
    ],
    "description": f"variables shown as columns (at most {MAX_COLUMNS}): names, or one text split by commas",
}
SORT = {"type": "string", "enum": list(SORTS), "description": "the list's order by creation (default newest)"}
COLUMNS_PARAMETER = {
    "name": "columns",
    "in": "query",
    "schema": {"type": "string"},
    "description": f"variable names to add as columns, split by commas (at most {MAX_COLUMNS})",
}
SORT_PARAMETER = {"name": "sort", "in": "query", "schema": SORT}

VIEW_SCHEMAS: dict[str, Any] = {
    "SavedView": {
        "type": "object",
        "required": ["id", "name", "filter", "columns", "sort", "published"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "owner": {"type": ["string", "null"]},
            "filter": {"type": "object"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "sort": {"type": "string"},
            "published": {"type": "boolean"},
            "list_query": {"type": "string", "description": "the view as GET /instances (or /instances.csv) arguments"},
            "problem": {"type": ["string", "null"], "description": "why its stored filter lists nothing now"},
        },
    },
    "InstanceHistory": {
        "type": "object",
        "required": ["instance", "timeline", "jobs", "audit", "withheld"],
        "properties": {
            "exported_at": {"type": "string"},
            "instance": ref("Instance"),
            "timeline": {"type": "array", "items": {"type": "object"}},
            "jobs": {"type": "array", "items": {"type": "object"}, "description": "with their attempts"},
            "audit": {"type": "array", "items": {"type": "object"}},
            "withheld": {
                "type": "array",
                "items": {"type": "string", "enum": ["jobs", "audit"]},
                "description": "the parts left out for this reader (another's jobs and audit entries, for a viewer)",
            },
        },
    },
}

VIEW = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _NAME,
        "filter": {"type": "object", "description": "the fields of the bulk action's filter"},
        "columns": _COLUMNS,
        "sort": SORT,
        "published": {"type": "boolean", "description": "shown to everyone (admins only)"},
    },
}
VIEW_CHANGE = {
    "type": "object",
    "properties": {"name": _NAME, "published": {"type": "boolean", "description": "admins only"}},
}

_VIEW = answer("the view", envelope(ref("SavedView")))

VIEW_PATHS: dict[str, Any] = {
    "/api/shar/views": {
        "get": {
            "summary": "Your saved views and the published ones",
            "responses": {
                "200": answer(
                    "the views",
                    envelope(
                        {
                            "type": "object",
                            "properties": {
                                "mine": {"type": "array", "items": ref("SavedView")},
                                "published": {"type": "array", "items": ref("SavedView")},
                            },
                        }
                    ),
                ),
                **errors(401, 503),
            },
        },
        "post": {
            "summary": "Save an instance list (filter, columns, sort) under a name",
            "description": "Any role saves views for itself; `published: true` is an admin's (403). 409 when you "
            "already have a view of that name.",
            "requestBody": body(VIEW),
            "responses": {"201": _VIEW, **errors(401, 403, 409, 422, 503)},
        },
    },
    "/api/shar/views/{view_id}": {
        "get": {
            "summary": "A view you own, or a published one",
            "parameters": [VIEW_ID],
            "responses": {"200": _VIEW, **errors(401, 404, 503)},
        },
        "patch": {
            "summary": "Rename (its owner; an admin for a published one) or publish it (admins)",
            "parameters": [VIEW_ID],
            "requestBody": body(VIEW_CHANGE),
            "responses": {"200": _VIEW, **errors(401, 403, 404, 409, 422, 503), **_NO_SUCH_ID},
        },
        "delete": {
            "summary": "Delete a view (its owner; an admin for a published one)",
            "parameters": [VIEW_ID],
            "responses": {
                "200": answer("deleted", envelope({"type": "object"})),
                **errors(401, 403, 404, 503),
                **_NO_SUCH_ID,
            },
        },
    },
}

EXPORT_PATHS: dict[str, Any] = {
    "/api/shar/instances/{instance_id}/export": {
        "get": {
            "summary": "An instance's whole history: the instance, its timeline, jobs with attempts, audit entries",
            "description": "Jobs and audit entries are its owner's and admins' (`withheld` names what a viewer "
            "is not shown); tracebacks are admins'.",
            "parameters": [INSTANCE_ID],
            "responses": {"200": answer("the history", envelope(ref("InstanceHistory"))), **errors(401, 404, 503)},
        }
    },
}
CSV_ANSWER = {
    "description": "UTF-8 CSV with a header row, streamed; cells a spreadsheet would read as a formula "
    "(= + - @) start with an apostrophe",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
