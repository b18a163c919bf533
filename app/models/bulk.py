"""Bulk operations: one action (sync, cancel, retry, migrate) over the instances a filter selected, run as
one job that walks a snapshot of their ids and counts what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db
from app.models._base import utcnow


class BulkOperation(db.Model):
    __tablename__ = "bulk_operations"
    __table_args__ = (Index("ix_bulk_operations_requester", "requested_by", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(10))  # sync | cancel | retry | migrate
    # The instance filter as it was given (InstanceFilter.as_dict).
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What an action with parameters acts with, as checked at the start (a migration's
    # {"version": N, "mapping": {...}}); None for the actions that take none.
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who asked, as shown (a user's e-mail or `system:cli`): the job acts as them.
    requested_by_name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(10), default="running")  # running | finished
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    # Filtered instances the action does not apply to (e.g. completed ones for a cancel), at the start.
    skipped: Mapped[int] = mapped_column(default=0)
    # The ids it covers, taken when it started (at most app.services.bulk.MAX_INSTANCES); read
    # by the job only, so progress reads never load it.
    instance_ids: Mapped[list[str]] = mapped_column(JSON, default=list, deferred=True)
    # The first failures: [{"instance_id": ..., "error": ...}].
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<BulkOperation {self.id} {self.action} {self.state} {self.done}+{self.failed}/{self.total}>"


class PreviewedSet(db.Model):
    """The instances a bulk preview showed, by their fingerprint (app.services.bulk.fingerprint), kept
    a while so a confirmation whose set has changed can say how: how many were added, how many are gone."""

    __tablename__ = "bulk_previews"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
