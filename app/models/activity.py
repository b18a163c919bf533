"""The activity log: what happened to a workflow or an instance, for timelines and the overview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db
from app.models._base import utcnow


class ActivityEvent(db.Model):
    __tablename__ = "activity_events"
    # Written, never read back by the request that writes it: app.core.plain_rows leaves it detached.
    __kept_loaded__ = False
    __table_args__ = (
        Index("ix_activity_target", "target_type", "target_id", "created_at"),
        Index("ix_activity_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(16))  # workflow | instance
    target_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
