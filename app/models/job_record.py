"""The SQL mirror of every background job and each of its attempts.

Huey holds only a job id; everything an operator needs (state, attempts, errors,
tracebacks, waits) lives here, so nothing about a job is known only to Redis.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.extensions import db
from app.lifecycle.states import JobState
from app.models._base import utcnow


class JobRecord(db.Model):
    __tablename__ = "job_records"
    __table_args__ = (
        Index("ix_jobs_state_updated", "state", "updated_at"),
        Index("ix_jobs_target", "target_type", "target_id"),
        Index("ix_jobs_queue_state", "queue", "state"),
        # The failed-jobs page: newest failures first.
        Index("ix_jobs_state_finished", "state", "finished_at"),
        Index("ix_jobs_state_type_shape", "state", "job_type", "error_shape"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_type: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    # last_error with its ids and numbers blurred: failed jobs are grouped by it in SQL.
    error_shape: Mapped[str | None] = mapped_column(String(300))
    # Set when the last hand-over to the queue failed (e.g. Redis down); the reconciler retries.
    enqueue_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    next_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Held while SHAR was unreachable (app.jobs.outage): since when (kept across re-holds, so the
    # longest hold is bounded), and how many tries met the outage after sending (not counted as
    # attempts, but one of them may have reached SHAR: a retried completion must check first).
    held_since: Mapped[datetime | None]
    held_tries: Mapped[int] = mapped_column(default=0)

    attempt_rows: Mapped[list[JobAttempt]] = relationship(
        back_populates="job", order_by="JobAttempt.number", cascade="all, delete-orphan"
    )

    @property
    def tries_before(self) -> int:
        """How many earlier tries of this running job may have reached SHAR (counted attempts, held ones)."""
        return max(self.attempts - 1, 0) + (self.held_tries or 0)

    @property
    def tried_before(self) -> bool:
        """Whether an earlier try of this job may have reached SHAR (a counted attempt or a held one)."""
        return self.tries_before > 0

    def __repr__(self) -> str:
        return f"<JobRecord {self.id} {self.job_type} {self.state} {self.attempts}/{self.max_attempts}>"


class FailedJobGroup(db.Model):
    """How many failed jobs each (job type, error shape) has: the failed-jobs page's groups, read
    without scanning the failed jobs. Written only by triggers on job_records (migration
    c3e7a1d5f9b2), so every write to a job counts; a group with none left has no row."""

    __tablename__ = "failed_job_groups"

    job_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    error_shape: Mapped[str] = mapped_column(String(300), primary_key=True)  # '' for a job without one
    jobs: Mapped[int]


class JobAttempt(db.Model):
    __tablename__ = "job_attempts"
    __table_args__ = (Index("ix_job_attempts_job", "job_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job_records.id", ondelete="CASCADE"))
    number: Mapped[int]
    waited_seconds: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # running | succeeded | retry | failed | interrupted (worker died mid-attempt) | held (SHAR
    # unreachable: not counted, the job's attempts were given back)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    job: Mapped[JobRecord] = relationship(back_populates="attempt_rows")
