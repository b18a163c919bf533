"""The OpenAPI 3 document of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Response

from app.api.blueprints import docs_bp
from app.api.openapi.instance_paths import INSTANCE_PATHS
from app.api.openapi.repair_paths import REPAIR_PATHS, REPAIR_SCHEMAS, with_paths
from app.api.openapi.schemas import SCHEMAS
from app.api.openapi.view_paths import VIEW_PATHS, VIEW_SCHEMAS
from app.api.openapi.workflow_paths import WORKFLOW_PATHS
from app.api.responses import json_response

PATHS: dict[str, Any] = with_paths({**WORKFLOW_PATHS, **INSTANCE_PATHS, **VIEW_PATHS}, REPAIR_PATHS)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "sharboard API",
        "version": "1.0.0",
        "description": "SHAR operations, answered at once; background jobs call SHAR.",
    },
    "paths": PATHS,
    "components": {
        "schemas": {**SCHEMAS, **VIEW_SCHEMAS, **REPAIR_SCHEMAS},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearer": []}],
}


@docs_bp.get("/openapi.json")
def document() -> Response:
    return json_response(DOCUMENT)
