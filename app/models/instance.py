"""Workflow instances, keyed by a UUID given out before SHAR is ever asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.extensions import db
from app.lifecycle.states import InstanceStatus
from app.models._base import new_uuid, only_on, utcnow
from app.models.user import User
from app.models.workflow import Workflow


class WorkflowInstance(db.Model):
    __tablename__ = "workflow_instances"
    __table_args__ = (
        # The periodic sync reads running instances, least recently synced first.
        Index("ix_instances_status_synced", "status", "last_synced_at"),
        Index("ix_instances_creator_created", "created_by", "created_at"),
        Index("ix_instances_created_at", "created_at"),
        # Trends: instances that ended in a window (app.services.trends).
        Index("ix_instances_completed_at", "completed_at"),
        # Lists filtered by status, newest first.
        Index("ix_instances_status_created", "status", "created_at"),
        Index("ix_instances_workflow", "workflow_id", "status"),
        # Finding instances by a variable's value (app.services.variable_filters): containment
        # (`variables @> '{"orderId": "A1"}'`) reads this on PostgreSQL; SQLite scans.
        only_on(
            "postgresql",
            Index(
                "ix_instances_variables",
                "variables",
                postgresql_using="gin",
                postgresql_ops={"variables": "jsonb_path_ops"},
            ),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    shar_instance_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default=InstanceStatus.LAUNCHING)
    # JSONB on PostgreSQL (indexed, see above), JSON text on SQLite.
    variables: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)
    current_activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    # The process of the workflow's file this instance runs (None: the engine's default, for rows
    # launched before a process could be chosen).
    process_id: Mapped[str | None] = mapped_column(String(200))
    # The message that starts it at its process's message start event (None: a plain launch).
    start_message: Mapped[str | None] = mapped_column(String(200))
    # How many launch requests went to SHAR for this row: above 1 means a retry after an
    # unknown outcome, shown to operators instead of hidden.
    launch_requests: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    launched_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    # SHAR's own clock, as SHAR reported it (the launch answer, later syncs).
    shar_created_at: Mapped[datetime | None]
    shar_completed_at: Mapped[datetime | None]
    # Set once, when the instance ends (app.lifecycle.durations): SHAR's two times when both are
    # known, else ours (launched_at to completed_at); never negative. The clock says which,
    # with "-clamped" when a negative difference was raised to 0.
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    duration_clock: Mapped[str | None] = mapped_column(String(24))
    # When status or current activities last changed: the stuck-instance detector reads it.
    progressed_at: Mapped[datetime] = mapped_column(default=utcnow)

    workflow: Mapped[Workflow] = relationship()
    creator: Mapped[User | None] = relationship()

    @property
    def workflow_name(self) -> str:
        return self.workflow.name

    def __repr__(self) -> str:
        return f"<WorkflowInstance {self.id} {self.status}>"
