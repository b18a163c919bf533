"""Every failure of an API call answered in the API's error envelope."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.blueprints import bp
from app.api.responses import fail
from app.errors import InvalidInput, ServiceUnavailable, SharboardError
from app.services.transactions import discard_changes

logger = logging.getLogger("sharboard.api")


@bp.errorhandler(SharboardError)
def _service_error(exc: SharboardError) -> Any:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ServiceUnavailable) else None
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    return fail(exc.message, exc.status_code, errors, headers)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    return fail("the request body is over the upload limit", 413, {"bpmn_xml": ["the upload is too large"]})


@bp.errorhandler(OperationalError)
def _database_down(exc: OperationalError) -> Any:
    discard_changes()
    logger.error("database unavailable", extra={"error": str(exc)})
    return fail("the service cannot accept work right now; try again shortly", 503, headers={"Retry-After": "30"})


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Any:
    return fail(exc.description or exc.name, exc.code or 500)
