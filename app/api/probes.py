"""`/healthz`, `/readyz` for load balancers and `/metrics` for Prometheus; what they check is
app.services.health's.

/healthz answers 200 while the process answers and reaches its database (liveness only: never SHAR
nor the queues, so a SHAR outage never restarts a healthy web process). /readyz answers 200 when
the database, the queues' storage and SHAR (as last checked) are all ready, else 503, naming each
check. /metrics takes an admin's API token (Prometheus: `authorization: {credentials: <token>}`):
the counts it shows are the whole system's.
"""

from __future__ import annotations

from flask import Response, jsonify

from app.api.auth import api_user, token_required
from app.api.blueprints import probes_bp
from app.core import metrics
from app.services.health.gauges import scrape_gauges
from app.services.health.liveness import database_answers
from app.services.health.readiness import readiness


@probes_bp.get("/healthz")
def healthz() -> Response:
    database_answers()
    return jsonify({"status": "ok"})


@probes_bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready", "checks": {c.name: c.to_dict() for c in checks}}
    return jsonify(body), 200 if ready else 503


@probes_bp.get("/metrics")
@token_required
def metrics_text() -> Response:
    data, content_type = metrics.exposition(scrape_gauges(actor=api_user()))
    return Response(data, content_type=content_type)
