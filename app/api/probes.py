"""`/healthz`, `/readyz` for load balancers and `/metrics` for Prometheus; what they check is
app.services.health's.

/healthz answers 200 while the process answers and reaches its database (liveness only: never SHAR
nor the queues, so a SHAR outage never restarts a healthy web process). /readyz answers 200 when
the database, the queues' storage and SHAR (as last checked) are all ready, else 503, naming each
check. /metrics takes an admin's API token (Prometheus: `authorization: {credentials: <token>}`):
the counts it shows are the whole system's. A browser asking for HTML without a token gets a page
for a person instead (sign in, then how to scrape it): raw exposition text or a 401 in JSON tells a
person nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request, url_for

from app.api.auth import api_user, token_required
from app.api.blueprints import probes_bp
from app.core import metrics
from app.core.children import RUN_TOKEN_HEADER, run_token
from app.services.access import require_admin
from app.services.health.gauges import scrape_gauges
from app.services.health.liveness import database_answers
from app.services.health.readiness import readiness
from app.web.access import current_actor, login_required


@probes_bp.get("/healthz")
def healthz() -> Response:
    database_answers()
    response = jsonify({"status": "ok"})
    if token := run_token():  # which `flask shar up` started this process: it checks it is its own
        response.headers[RUN_TOKEN_HEADER] = token
    return response


@probes_bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready", "checks": {c.name: c.to_dict() for c in checks}}
    return jsonify(body), 200 if ready else 503


@probes_bp.get("/metrics")
def metrics_text() -> Any:
    if _a_person_asks():
        return _how_to_scrape()
    return _scrape()


@token_required
def _scrape() -> Response:
    data, content_type = metrics.exposition(scrape_gauges(actor=api_user()))
    return Response(data, content_type=content_type)


def _a_person_asks() -> bool:
    """A browser's page load: it names text/html and sends no token. Prometheus, curl (`*/*`) and
    any request with a token keep the scrape, whatever else they accept."""
    if request.headers.get("Authorization"):
        return False
    return any(value == "text/html" and quality > 0 for value, quality in request.accept_mimetypes)


@login_required
def _how_to_scrape() -> str:
    require_admin(current_actor())  # the scrape's counts are the whole system's: an admin's token reads them
    return render_template(
        "admin/metrics.html",
        metrics_url=request.base_url,
        scheme=request.scheme,
        target=request.host,
        tokens_url=url_for("admin.users"),
    )
