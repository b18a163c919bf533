"""Webhook deliveries, for admins: the list, one delivery with its attempts, replay."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from app.core.extensions import db
from app.models import JobAttempt, JobRecord, WebhookDelivery
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.audit import audit
from app.services.rows import required
from app.webhooks.delivery import schedule_delivery


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: WebhookDelivery
    job: JobRecord | None
    attempts: list[JobAttempt]


def list_deliveries(*, actor: Actor, state: str | None = None, limit: int = 200) -> list[WebhookDelivery]:
    require_admin(actor)
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return list(db.session.scalars(query))


def delivery_detail(delivery_id: int, *, actor: Actor) -> DeliveryDetail:
    require_admin(actor)
    delivery = _delivery(delivery_id)
    job = db.session.scalars(
        select(JobRecord).where(JobRecord.target_type == "webhook", JobRecord.target_id == str(delivery.id))
    ).first()
    attempts = (
        list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)))
        if job
        else []
    )
    return DeliveryDetail(delivery, job, attempts)


def replay_delivery(delivery_id: int, *, actor: Actor) -> WebhookDelivery:
    """Send a stored delivery's body again, as a new delivery that points back to it."""
    require_admin(actor)
    original = _delivery(delivery_id)
    entry = audit(actor, "webhook.replay", "webhook", delivery_id)
    # Committed with the new delivery and its job; the copy's id is known only after that.
    copy = schedule_delivery(
        original.url,
        json.loads(original.body),
        target_type=original.target_type,
        target_id=original.target_id,
        replay_of=original.id,
    )
    entry.after = {"replay_id": copy.id}
    db.session.commit()
    return copy


def _delivery(delivery_id: int) -> WebhookDelivery:
    return required(WebhookDelivery, delivery_id, "webhook delivery")
