"""The reconciler: hands Huey again the jobs it never got or lost (only those it holds no message
of), and recovers jobs whose worker died mid-attempt. Runs in the scheduler, which needs no queue to do it."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs import database_faults
from app.jobs.attempt_ends import fail_for_good
from app.jobs.errors import error_shape
from app.jobs.handover import enqueue, enqueue_many
from app.jobs.queues import current_queues
from app.jobs.specs import spec_for
from app.lifecycle.changes import move_job
from app.lifecycle.states import OPEN_JOB_STATES, JobState
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow

logger = logging.getLogger("sharboard.shar.reconcile")
BATCH = 1000


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
    """One pass over the open jobs; returns what it did. A queued or retrying job is handed over
    again only when Huey holds no message of it that it will run (_requeue_lost), so however long a
    backlog waits, the reconciler never gives a job a second message."""
    report = ReconcileReport()
    settings = current_settings()
    now = utcnow()
    # Held jobs are app.jobs.release's: they are in no queue on purpose.
    watched = tuple(state for state in OPEN_JOB_STATES if state != JobState.HELD)
    open_jobs = db.session.scalars(select(JobRecord).where(JobRecord.state.in_(watched)))
    suspects: list[JobRecord] = []
    dead: list[JobRecord] = []
    for job in list(open_jobs):
        spec = spec_for(job.job_type)
        stale = timedelta(seconds=spec.effective_timeout(settings))
        if job.state == "running":
            if now - job.updated_at > stale:
                dead.append(job)
        elif job.enqueue_error:
            suspects.append(job)
        elif job.state == "queued" and now - job.updated_at > stale:
            suspects.append(job)  # lost by the queue (e.g. Redis flushed), or only behind a backlog
        elif job.state == "retrying" and job.next_attempt_at and now - job.next_attempt_at > stale:
            suspects.append(job)
    _requeue_lost(suspects, now, report)  # first: each recovery commits, which expires every loaded row
    for job in dead:
        _recover_interrupted(job, report)
    if report:
        logger.warning(
            "reconciled jobs",
            extra={"requeued": report.requeued, "interrupted": report.interrupted, "failed": report.failed},
        )
    return report


def _requeue_lost(suspects: list[JobRecord], now: datetime, report: ReconcileReport) -> None:
    """Hand over again those of `suspects` whose message is gone (Redis restarted empty, a refused
    hand-over): Huey's storage is read once for all of them (Queues.live_messages: the queue and its
    schedule; on Huey's SQLite storage, the embedded stack's, the same check reads its task and schedule
    tables and counts a revoked message as none). A job found with a message is only behind, and left
    alone. A message a worker took just before the read is missed, but its claim moves the
    job's updated_at, so the job is left out unless the claim's commit comes later still: then the one
    extra message finds the job claimed or done and is dropped unrun."""
    if not suspects:
        return
    wanted: dict[str, list[int]] = defaultdict(list)
    for job in suspects:
        wanted[job.queue].append(job.id)
    try:
        live = current_queues().live_messages(wanted)
    except Exception as exc:  # the queue cannot be read (Redis down): the next pass asks again
        logger.warning("could not read the queues", extra={"error": str(exc)})
        return
    found = [job for job in suspects if job.id in live and job.enqueue_error]
    for job in found:
        job.enqueue_error = None  # its hand-over went through after all (a reply lost on the way)
    # Read before the commit expires the rows (else one SELECT each).
    lost = [_Lost(job.id, job.job_type, job.queue, job.next_attempt_at) for job in suspects if job.id not in live]
    db.session.commit()
    for start in range(0, len(lost), BATCH):  # bounded IN lists (SQLite's bound parameters)
        _requeue_batch(lost[start : start + BATCH], now, report)


class _Lost(NamedTuple):
    id: int
    job_type: str
    queue: str
    next_attempt_at: datetime | None


def _requeue_batch(lost: list[_Lost], now: datetime, report: ReconcileReport) -> None:
    # Restarts their staleness clocks. A job written since this pass began (claimed, run, queued by
    # another: every write moves updated_at) is left out; its message may have been in a worker's hands.
    still = set(
        db.session.scalars(
            update(JobRecord)
            .where(
                JobRecord.id.in_([job.id for job in lost]),
                JobRecord.state.in_(("queued", "retrying")),
                JobRecord.updated_at <= now,
            )
            .values(updated_at=now)
            .returning(JobRecord.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    batches: dict[tuple[str, str], list[int]] = defaultdict(list)
    for job in lost:
        if job.id not in still:
            continue
        if job.next_attempt_at and job.next_attempt_at > now:  # not due yet: handed over with its delay
            if enqueue(db.session.get(JobRecord, job.id), delay=(job.next_attempt_at - now).total_seconds()):
                report.requeued.append(job.id)
        else:
            batches[(job.job_type, job.queue)].append(job.id)
    for (job_type, queue), ids in batches.items():  # one round trip each
        if enqueue_many(job_type, queue, ids):
            report.requeued.extend(ids)
            _clear_enqueue_errors(ids)


def _clear_enqueue_errors(ids: list[int]) -> None:
    db.session.execute(
        update(JobRecord)
        .where(JobRecord.id.in_(ids), JobRecord.enqueue_error.is_not(None))
        .values(enqueue_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _requeue(job: JobRecord, now, report: ReconcileReport) -> None:  # type: ignore[no-untyped-def]
    """Queue again a job whose message was taken by the worker that died running it."""
    delay = max((job.next_attempt_at - now).total_seconds(), 0.0) if job.next_attempt_at else 0.0
    job.updated_at = now  # restarts the staleness clock
    db.session.commit()
    if enqueue(job, delay=delay):
        report.requeued.append(job.id)


def _recover_interrupted(job: JobRecord, report: ReconcileReport) -> None:
    now = utcnow()
    # An attempt whose end could not be written while the database was away is given back, not
    # counted (app.jobs.database_faults); any other is a worker that died.
    lost_database = database_faults.away_since(job.updated_at)
    outcome, message = (
        (database_faults.OUTCOME, "the attempt's end could not be written: the database was unreachable")
        if lost_database
        else ("interrupted", "worker stopped during the attempt (killed or timed out)")
    )
    for attempt in db.session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job.id, JobAttempt.ended_at.is_(None))
    ):
        attempt.outcome, attempt.ended_at, attempt.error = outcome, now, message
    job.last_error, job.error_shape = message, error_shape(message)
    report.interrupted.append(job.id)
    if lost_database:
        job.attempts -= 1
        job.held_tries = (job.held_tries or 0) + (1 if spec_for(job.job_type).needs_shar else 0)
    if job.attempts < job.max_attempts:
        move_job(job, JobState.QUEUED, next_attempt_at=None)
        db.session.commit()
        _requeue(job, now, report)
        return
    move_job(job, JobState.FAILED, finished_at=now)
    db.session.commit()
    report.failed.append(job.id)
    fail_for_good(job, spec_for(job.job_type), WorkerLost(message))
