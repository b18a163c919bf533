"""The reconciler: hands Huey again the jobs it never got or lost, and recovers jobs whose
worker died mid-attempt. Runs in the scheduler, which needs no queue to do it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.attempt_ends import fail_for_good
from app.jobs.errors import error_shape
from app.jobs.handover import enqueue
from app.jobs.specs import spec_for
from app.lifecycle.changes import move_job
from app.lifecycle.states import OPEN_JOB_STATES, JobState
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow

logger = logging.getLogger("sharboard.shar.reconcile")


class WorkerLost(Exception):
    """The worker running an attempt stopped before recording its end."""


@dataclass
class ReconcileReport:
    requeued: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requeued or self.interrupted or self.failed)


def reconcile() -> ReconcileReport:
    """One pass over the open jobs; returns what it did."""
    report = ReconcileReport()
    settings = current_settings()
    now = utcnow()
    # Held jobs are app.jobs.release's: they are in no queue on purpose.
    watched = tuple(state for state in OPEN_JOB_STATES if state != JobState.HELD)
    open_jobs = db.session.scalars(select(JobRecord).where(JobRecord.state.in_(watched)))
    for job in list(open_jobs):
        spec = spec_for(job.job_type)
        stale = timedelta(seconds=spec.effective_timeout(settings))
        if job.state == "running":
            if now - job.updated_at > stale:
                _recover_interrupted(job, report)
        elif job.enqueue_error:
            _requeue(job, now, report)
        elif job.state == "queued" and now - job.updated_at > stale:
            _requeue(job, now, report)  # lost by the queue (e.g. Redis flushed)
        elif job.state == "retrying" and job.next_attempt_at and now - job.next_attempt_at > stale:
            _requeue(job, now, report)
    if report:
        logger.warning(
            "reconciled jobs",
            extra={"requeued": report.requeued, "interrupted": report.interrupted, "failed": report.failed},
        )
    return report


def _requeue(job: JobRecord, now, report: ReconcileReport) -> None:  # type: ignore[no-untyped-def]
    delay = max((job.next_attempt_at - now).total_seconds(), 0.0) if job.next_attempt_at else 0.0
    job.updated_at = now  # restarts the staleness clock, so one lost job is requeued once per period
    db.session.commit()
    if enqueue(job, delay=delay):
        report.requeued.append(job.id)


def _recover_interrupted(job: JobRecord, report: ReconcileReport) -> None:
    now = utcnow()
    message = "worker stopped during the attempt (killed or timed out)"
    for attempt in db.session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job.id, JobAttempt.ended_at.is_(None))
    ):
        attempt.outcome, attempt.ended_at, attempt.error = "interrupted", now, message
    job.last_error, job.error_shape = message, error_shape(message)
    report.interrupted.append(job.id)
    if job.attempts < job.max_attempts:
        move_job(job, JobState.QUEUED, next_attempt_at=None)
        db.session.commit()
        _requeue(job, now, report)
        return
    move_job(job, JobState.FAILED, finished_at=now)
    db.session.commit()
    report.failed.append(job.id)
    fail_for_good(job, spec_for(job.job_type), WorkerLost(message))
