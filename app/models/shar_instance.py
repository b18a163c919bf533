"""SHAR instances the dashboard does not track: what a scan of SHAR's list found, and what an
admin decided (adopt: a row now tracks it; ignore: never listed again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db
from app.models._base import utcnow


class UntrackedSharInstance(db.Model):
    __tablename__ = "untracked_shar_instances"

    shar_instance_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workflow_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The dashboard row its correlation variable names, when it carries one (a duplicate launch).
    correlation_id: Mapped[str | None] = mapped_column(String(36))
    shar_created_at: Mapped[datetime | None]
    shar_completed_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while it waits for an admin; "adopted" or "ignored" once decided.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    instance_id: Mapped[str | None] = mapped_column(String(36))

    def __repr__(self) -> str:
        return f"<UntrackedSharInstance {self.shar_instance_id} {self.decision or 'open'}>"
