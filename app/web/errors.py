"""Error pages: JSON for the API and clients that want JSON, HTML for people."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.extensions import db


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _http_error(exc: HTTPException) -> Any:
    if exc.code is not None and exc.code < 400:
        return exc
    if wants_json():
        return jsonify({"success": False, "message": exc.description, "errors": {}}), exc.code
    template = f"errors/{exc.code}.html" if exc.code in (403, 404, 413) else "errors/generic.html"
    return render_template(template, error=exc), exc.code


def _unexpected(exc: Exception) -> Any:
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=exc)
    if wants_json():
        return jsonify({"success": False, "message": "Internal server error", "errors": {}}), 500
    return render_template("errors/500.html"), 500
