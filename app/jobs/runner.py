"""Running one attempt of a job: claim it, record the attempt, run its handler, then
succeed, schedule the next attempt after the spec's wait, or fail for good (app.jobs.attempt_ends).
A job that needs SHAR is held instead while SHAR cannot be reached (app.jobs.outage): not run, or its
try not counted, until app.jobs.release queues it again. When its queue is behind, a first attempt
takes others of its kind along and runs them together (app.jobs.together).

Every step is written to SQL before the next begins, so a worker killed mid-attempt
leaves an attempt without an end, which the reconciler marks `interrupted`.
"""

from __future__ import annotations

import logging
import time
import traceback
from contextlib import suppress
from datetime import datetime, timedelta

from huey.exceptions import RetryTask
from sqlalchemy import bindparam, func, or_, select, update

from app.core import metrics
from app.core.config import current_settings
from app.core.extensions import commit_keeping_loaded, db
from app.core.plain_rows import commit_new_rows
from app.core.text import clip
from app.jobs import database_faults, outage, together
from app.jobs.attempt_ends import attempt_failed, hold, log_fields, run_after, succeeded
from app.jobs.specs import JobSpec, spec_for
from app.lifecycle.states import JOB_TRANSITIONS, JobState
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow
from app.shar.errors import SharUnavailable

logger = logging.getLogger("sharboard.shar.jobs")
# The states a job may be claimed from: those the transition table lets become running.
CLAIMABLE = tuple(state for state, targets in JOB_TRANSITIONS.items() if JobState.RUNNING in targets)
# A scheduled message may arrive a little before its SQL time; allow for clock skew.
EARLY_TOLERANCE = timedelta(seconds=2)


def run_message(job_id: int) -> None:
    """What a consumer runs for a message: run_job. While the database cannot be reached (the claim
    could not be made or its attempt's end written), the message is kept and handed over again after
    a wait (Huey's RetryTask, the same message): the job is neither lost nor its attempt counted."""
    try:
        run_job(job_id)
    except Exception as exc:
        if not database_faults.is_fault(exc):
            raise
        with suppress(Exception):  # the connection may be gone: the pool replaces it
            db.session.rollback()
        delay = database_faults.wait(current_settings().time_scale)
        logger.warning("database unreachable; the job's message kept", extra={"job_id": job_id, "wait": delay})
        raise RetryTask(f"database unreachable: {exc.__class__.__name__}", delay=delay) from exc


def run_job(job_id: int, *, allow_retry: bool = True) -> JobRecord | None:
    """Run the next attempt of job `job_id`, if it is due and nobody else runs it (None when not
    claimed: done, running elsewhere, not yet due, or gone); with others of its kind when its queue
    is behind (together.companions)."""
    job = _claim(job_id)
    if job is None:
        # Most often a job that ran together with another one: its own message comes after.
        logger.info("job not claimed (done, running elsewhere, not yet due or gone)", extra={"job_id": job_id})
        return None
    spec = spec_for(job.job_type)
    if spec.needs_shar and (down := outage.current()) is not None:
        hold(job, None, f"not sent: SHAR unreachable since {down.since:%H:%M:%S} UTC ({down.last_error})")
        return job
    waited = _waited(job)
    jobs = [job, *(together.companions(job, spec, waited) if allow_retry else ())]
    attempts = [
        JobAttempt(job_id=j.id, number=j.attempts, waited_seconds=waited if j is job else _waited(j)) for j in jobs
    ]
    db.session.add_all(attempts)
    # One plain INSERT (no unit of work), kept loaded: the claimed jobs are this worker's, and their
    # handlers read them without loading them again.
    commit_new_rows()
    if len(jobs) == 1:
        run_attempt(job, attempts[0], spec, allow_retry=allow_retry)
        return job
    for alone, attempt in together.run(spec, list(zip(jobs, attempts, strict=True))):
        run_attempt(alone, attempt, spec)
    return job


def run_attempt(job: JobRecord, attempt: JobAttempt, spec: JobSpec, *, allow_retry: bool = True) -> str:
    """Run the handler for the claimed `job` whose `attempt` is committed; returns the outcome."""
    fields = log_fields(job, attempt)
    logger.info("job attempt started", extra=fields)
    started = time.monotonic()
    try:
        after = spec.handler(job)
        succeeded([(job, attempt)])
        # One transaction with what the handler left uncommitted (a status change and its timeline
        # entry); kept loaded, so what runs after it reads those rows without loading them again.
        commit_keeping_loaded()
    except SharUnavailable as exc:
        db.session.rollback()
        if not spec.needs_shar:
            raise  # a job declared as not needing SHAR called it: a bug to see, not an outage to hide
        outage.opened(str(exc))
        hold(job, attempt, clip(str(exc)), sent=exc.sent)
        outcome = "held"
    except Exception as exc:  # the boundary of a job: every failure is recorded
        trace = traceback.format_exc()
        db.session.rollback()
        outcome = attempt_failed(job, attempt, spec, exc, allow_retry=allow_retry, fields=fields, trace=trace)
    else:
        database_faults.cleared()
        logger.info("job succeeded", extra=fields)
        outcome = "succeeded"
        run_after(after, fields)
    seconds = time.monotonic() - started
    if spec.together is not None and outcome == "succeeded":
        together.paced(spec, seconds)
    metrics.job_attempt(spec.job_type, outcome, seconds, delivers=spec.delivers)
    return outcome


# Built once: building an UPDATE and its cache key costs more CPU than running it.
_CLAIM = (
    update(JobRecord)
    .where(
        JobRecord.id == bindparam("job_id"),
        JobRecord.state.in_(CLAIMABLE),
        or_(JobRecord.next_attempt_at.is_(None), JobRecord.next_attempt_at <= bindparam("due")),
    )
    .values(state=JobState.RUNNING, attempts=JobRecord.attempts + 1, updated_at=bindparam("now"), enqueue_error=None)
    .returning(JobRecord)
    .execution_options(populate_existing=True, synchronize_session=False)
)


def _claim(job_id: int) -> JobRecord | None:
    """Move the job to running and count the attempt, unless someone else did first (or it is
    not due): one UPDATE ... RETURNING, whose row is the job as claimed (None when not claimed)."""
    now = utcnow()
    claimed = db.session.scalars(_CLAIM, {"job_id": job_id, "due": now + EARLY_TOLERANCE, "now": now}).one_or_none()
    if claimed is None:
        db.session.rollback()
    # Not committed here: run_job commits the claim together with its attempt row, so a
    # worker killed in between leaves no `running` job without an attempt to mark interrupted.
    return claimed


def _waited(job: JobRecord) -> float:
    """Seconds since the previous attempt ended (or, for the first, since the job was queued)."""
    since = (previous_try_end(job) if job.attempts > 1 else None) or job.created_at
    return max((utcnow() - since).total_seconds(), 0.0)


def previous_try_end(job: JobRecord) -> datetime | None:
    """When the latest earlier try of the running `job` ended (counted, held or given back; None: none
    did, as when the reconciler has not yet ended a killed worker's)."""
    return db.session.scalar(
        select(func.max(JobAttempt.ended_at)).where(JobAttempt.job_id == job.id, JobAttempt.ended_at.is_not(None))
    )


def note_attempt(job: JobRecord, **detail: object) -> None:
    """Add details (e.g. an HTTP status) to the running attempt of `job`; the caller commits."""
    # The newest row: a held try shares its number with the attempt after it.
    attempt = db.session.query(JobAttempt).filter_by(job_id=job.id).order_by(JobAttempt.id.desc()).first()
    if attempt is not None:
        attempt.detail = {**(attempt.detail or {}), **detail}
