"""Admin: the queues at a glance, and running the periodic sync now."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from app.admin.blueprint import bp
from app.admin.flashes import flash_queued
from app.models._base import utcnow
from app.services.monitoring import queues_page
from app.services.sync import start_periodic_sync
from app.web.access import current_actor, login_required


@bp.get("/queues")
@login_required
def queues() -> str:
    page = queues_page(actor=current_actor())
    return render_template(
        "admin/queues.html",
        rows=page.rows,
        last_sync=page.last_sync,
        now=utcnow(),
        health=page.health,
    )


@bp.post("/queues/periodic-sync")
@login_required
def run_periodic_sync() -> Any:
    flash_queued(start_periodic_sync(actor=current_actor()), "periodic sync queued")
    return redirect(url_for(".queues"))
