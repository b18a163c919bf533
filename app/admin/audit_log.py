"""Admin: the audit log, and the stuck-instances list."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from app.admin import bp
from app.config import current_settings
from app.extensions import db
from app.models import AuditEntry, User
from app.services.monitoring import stuck_instances_query
from app.web.access import admin_required


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(300)))
    actors = {u.id: u.email for u in db.session.scalars(select(User))}
    return render_template("admin/audit.html", entries=entries, actors=actors)


@bp.get("/stuck")
@admin_required
def stuck() -> str:
    minutes = request.args.get("minutes", type=int) or current_settings().stuck_minutes
    instances = list(db.session.scalars(stuck_instances_query(minutes).limit(500)))
    return render_template("admin/stuck.html", instances=instances, minutes=minutes)
