"""Admin: webhook deliveries with their attempts, and replay."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.models.webhook import DELIVERY_STATES
from app.services import deliveries as service
from app.services import display
from app.web.access import current_actor, login_required


@bp.get("/webhooks")
@login_required
def webhooks() -> str:
    state = request.args.get("state") or ""
    return render_template(
        "admin/webhooks.html",
        deliveries=service.list_deliveries(actor=current_actor(), state=state or None),
        state=state,
        state_options=display.filter_options(DELIVERY_STATES, state),
    )


@bp.get("/webhooks/<int:delivery_id>")
@login_required
def webhook_detail(delivery_id: int) -> str:
    detail = service.delivery_detail(delivery_id, actor=current_actor())
    return render_template(
        "admin/webhook_detail.html", delivery=detail.delivery, job=detail.job, attempts=detail.attempts
    )


@bp.post("/webhooks/<int:delivery_id>/replay")
@login_required
def replay(delivery_id: int) -> Any:
    copy = service.replay_delivery(delivery_id, actor=current_actor())
    flash(f"delivery {delivery_id} replayed as {copy.id}", "success")
    return redirect(url_for(".webhook_detail", delivery_id=copy.id))
