"""Admin: webhook deliveries with their attempts, and replay."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.admin import bp
from app.errors import NotFound
from app.extensions import db
from app.models import JobAttempt, JobRecord, WebhookDelivery
from app.services.audit import audit
from app.web.access import admin_required
from app.webhooks.delivery import replay_delivery


@bp.get("/webhooks")
@admin_required
def webhooks() -> str:
    state = request.args.get("state") or ""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(200)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return render_template("admin/webhooks.html", deliveries=list(db.session.scalars(query)), state=state)


@bp.get("/webhooks/<int:delivery_id>")
@admin_required
def webhook_detail(delivery_id: int) -> str:
    delivery = db.session.get(WebhookDelivery, delivery_id) or abort(404)
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_type == "webhook",
                                                     JobRecord.target_id == str(delivery.id))).first()
    attempts = list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)
                                       .order_by(JobAttempt.number))) if job else []
    return render_template("admin/webhook_detail.html", delivery=delivery, job=job, attempts=attempts)


@bp.post("/webhooks/<int:delivery_id>/replay")
@admin_required
def replay(delivery_id: int) -> Any:
    try:
        copy = replay_delivery(delivery_id)
    except NotFound:
        abort(404)
    audit(current_user, "webhook.replay", "webhook", delivery_id, after={"replay_id": copy.id})
    db.session.commit()
    flash(f"delivery {delivery_id} replayed as {copy.id}", "success")
    return redirect(url_for(".webhook_detail", delivery_id=copy.id))
