"""Admin: the audit log, and the stuck-instances list."""

from __future__ import annotations

from flask import render_template, request

from app.admin.blueprint import bp
from app.core.config import current_settings
from app.services.audit import audit_entries
from app.services.monitoring import stuck_instances
from app.web.access import current_actor, login_required


@bp.get("/audit")
@login_required
def audit_log() -> str:
    return render_template("admin/audit.html", entries=audit_entries(actor=current_actor()))


@bp.get("/stuck")
@login_required
def stuck() -> str:
    minutes = request.args.get("minutes", type=int) or current_settings().stuck_minutes
    return render_template(
        "admin/stuck.html", unchanged=stuck_instances(actor=current_actor(), minutes=minutes), minutes=minutes
    )
