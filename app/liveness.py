"""Liveness (`/healthz`): the process answers and reaches its database. Not SHAR's health
(app.services.health) nor a consumer's heartbeat (app.jobs.heartbeat)."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("liveness", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
