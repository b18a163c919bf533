"""Admin: the queues at a glance, and running the periodic sync now."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.admin import bp
from app.config import current_settings
from app.extensions import db
from app.jobs.admin import counts_by_state
from app.jobs.dispatch import submit
from app.models import PeriodicRun
from app.models._base import utcnow
from app.queues import current_queues
from app.services.audit import audit
from app.services.health import last_shar_health
from app.web.access import admin_required


@bp.get("/queues")
@admin_required
def queues() -> str:
    rows = []
    for name in current_settings().queue_names:
        try:
            broker: dict[str, Any] = current_queues().counts(name)
        except Exception as exc:  # the page must render while Redis is down, and say so
            broker = {"error": f"{exc.__class__.__name__}: {exc}"}
        rows.append({"name": name, "broker": broker, "jobs": counts_by_state(name),
                     "consumer": db.session.get(PeriodicRun, f"consumer:{name}")})
    health, checked_at = last_shar_health()
    return render_template("admin/queues.html", rows=rows, last_sync=db.session.get(PeriodicRun, "periodic_sync"), now=utcnow(),
                           health=health, health_checked_at=checked_at)


@bp.post("/queues/sync")
@admin_required
def sync_now() -> Any:
    job = submit("periodic_sync", target_type="system", target_id="periodic_sync", created_by=current_user.id)
    audit(current_user, "queue.sync_now", "job", job.id)
    db.session.commit()
    flash("periodic sync queued" + (f" (not yet handed to the queue: {job.enqueue_error})" if job.enqueue_error else ""),
          "success" if not job.enqueue_error else "error")
    return redirect(url_for(".queues"))
