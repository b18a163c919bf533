"""Webhook deliveries: the exact body sent, so a delivery can be audited and replayed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db
from app.models._base import utcnow

DELIVERY_STATES = ("pending", "delivered", "failed", "refused")


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhooks_state_created", "state", "created_at"),
        Index("ix_webhooks_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_type: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(36))
    # One of DELIVERY_STATES: pending | delivered | failed | refused (address not allowed)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    replay_of: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
