"""Error pages: JSON for the API and clients that want JSON, HTML for people."""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from app.core.errors import ServiceUnavailable, SharboardError, TooManyRequests
from app.core.http_errors import described
from app.security.rate_limits import retry_after_seconds
from app.services.transactions import discard_changes


def init_app(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SharboardError, _service_error)
    app.register_error_handler(Exception, _unexpected)


def _service_error(exc: SharboardError) -> Any:
    """A service's refusal, once for every page: its status code and its message.

    The API blueprint answers in its own envelope first; this serves the pages. Whatever
    the refused operation left in the session is dropped.
    """
    discard_changes()
    http_error = default_exceptions.get(exc.status_code, InternalServerError)(description=exc.message)
    response = _http_error(http_error)
    if isinstance(exc, (ServiceUnavailable, TooManyRequests)):
        body, code, headers = response
        return body, code, {**headers, "Retry-After": str(exc.retry_after)}
    return response


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _too_many_requests(exc: RateLimitExceeded) -> Any:
    """A rate limit reached: people get a page saying how long to wait; JSON clients the API's envelope."""
    seconds = retry_after_seconds()
    headers = {"Retry-After": str(seconds)}
    if wants_json():
        return jsonify({"success": False, "message": exc.description, "errors": {}}), 429, headers
    return (
        render_template("errors/429.html", message=exc.description, seconds=seconds, minutes=math.ceil(seconds / 60)),
        429,
        headers,
    )


def _http_error(exc: HTTPException) -> Any:
    if exc.code is not None and exc.code < 400:
        return exc
    message, headers = described(exc, request.method)
    if wants_json():
        return jsonify({"success": False, "message": message, "errors": {}}), exc.code, headers
    template = f"errors/{exc.code}.html" if exc.code in (403, 404, 413) else "errors/generic.html"
    return render_template(template, error=exc, message=message), exc.code, headers


def _unexpected(exc: Exception) -> Any:
    discard_changes()
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=exc)
    if wants_json():
        return jsonify({"success": False, "message": "Internal server error", "errors": {}}), 500
    return render_template("errors/500.html"), 500
