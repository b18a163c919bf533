"""Admin: SHAR instances the dashboard does not track; scan SHAR's list, adopt or ignore."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.flashes import flash_queued, refusal_flashed
from app.core.errors import Conflict, InvalidInput, NotFound
from app.services import untracked as service
from app.web.access import current_actor, login_required


@bp.get("/shar-instances")
@login_required
def shar_instances() -> str:
    page = service.untracked_page(actor=current_actor())
    return render_template(
        "admin/shar_instances.html",
        items=page.items,
        ignored=page.ignored,
        last_scan=page.last_scan,
        tracking_another=page.tracking_another,
    )


@bp.post("/shar-instances/scan")
@login_required
def scan_shar_instances() -> Any:
    flash_queued(service.request_scan(actor=current_actor()), "scan of SHAR's instances queued")
    return redirect(url_for(".shar_instances"))


@bp.post("/shar-instances/<path:shar_instance_id>/adopt")
@login_required
def adopt_shar_instance(shar_instance_id: str) -> Any:
    with refusal_flashed(NotFound, Conflict, InvalidInput):
        instance = service.adopt_shar_instance(
            shar_instance_id, request.form.get("workflow_name", ""), actor=current_actor()
        )
        flash(f"SHAR instance {shar_instance_id} adopted as instance {instance.id}", "success")
    return redirect(url_for(".shar_instances"))


@bp.post("/shar-instances/<path:shar_instance_id>/ignore")
@login_required
def ignore_shar_instance(shar_instance_id: str) -> Any:
    with refusal_flashed(NotFound, Conflict):
        service.ignore_shar_instance(shar_instance_id, actor=current_actor())
        flash(f"SHAR instance {shar_instance_id} ignored", "success")
    return redirect(url_for(".shar_instances"))
