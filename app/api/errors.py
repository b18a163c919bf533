"""Every failure of an API call (and of /metrics and /readyz, which take API clients) answered in
the API's error envelope."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.blueprints import bp, probes_bp
from app.api.responses import fail
from app.core.errors import InvalidInput, ServiceUnavailable, SharboardError, TooManyRequests
from app.core.http_errors import described
from app.services.transactions import discard_changes

logger = logging.getLogger("sharboard.api")


def _service_error(exc: SharboardError) -> Any:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, (ServiceUnavailable, TooManyRequests)) else None
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    return fail(exc.message, exc.status_code, errors, headers)


def _too_large(exc: RequestEntityTooLarge) -> Any:
    return fail("the request body is over the upload limit", 413, {"bpmn_xml": ["the upload is too large"]})


def _database_down(exc: OperationalError) -> Any:
    discard_changes()
    logger.error("database unavailable", extra={"error": str(exc)})
    return fail("the service cannot accept work right now; try again shortly", 503, headers={"Retry-After": "30"})


def _http(exc: HTTPException) -> Any:
    message, headers = described(exc, request.method)
    return fail(message, exc.code or 500, headers=headers)


for _blueprint in (bp, probes_bp):
    _blueprint.register_error_handler(SharboardError, _service_error)
    _blueprint.register_error_handler(RequestEntityTooLarge, _too_large)
    _blueprint.register_error_handler(OperationalError, _database_down)
    _blueprint.register_error_handler(HTTPException, _http)
