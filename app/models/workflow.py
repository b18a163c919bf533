"""Workflows: one row per uploaded version of a named BPMN definition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.extensions import db
from app.lifecycle.states import WorkflowStatus
from app.models._base import utcnow
from app.models.user import User


class Workflow(db.Model):
    __tablename__ = "workflows"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_workflows_name_version"),
        Index("ix_workflows_status", "status"),
        Index("ix_workflows_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(Text, default="")
    # Loaded only when asked for (deploy, download, export): launches and lists never need it.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    bpmn_sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=WorkflowStatus.CREATING)
    error: Mapped[str | None] = mapped_column(Text)
    shar_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None]
    # Moves (app.lifecycle.changes.counts_changed) with every write that may change the counts on
    # this version's diagram: their polled fragment's version reads it, not the instances.
    counts_revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    creator: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Workflow {self.name} v{self.version} {self.status}>"


class WorkflowName(db.Model):
    """A workflow name and its owner: the creator of its first version, or whom an admin
    handed it to. Only the owner or an admin may add versions or delete it."""

    __tablename__ = "workflow_names"
    # Unique ignoring case: "Invoice" beside "invoice" would be taken for one another (migration a8c3e1f4d702).
    __table_args__ = (Index("uq_workflow_names_lower", func.lower(text("name")), unique=True),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User | None] = relationship()
