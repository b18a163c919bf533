"""Running one attempt of a job: claim it, record the attempt, run its handler, then
succeed, schedule the next attempt after the spec's wait, or fail for good. A job that needs
SHAR is held instead while SHAR cannot be reached (app.jobs.outage): not run, or its try not
counted, until app.jobs.release queues it again.

Every step is written to SQL before the next begins, so a worker killed mid-attempt
leaves an attempt without an end, which the reconciler marks `interrupted`.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import timedelta

from huey.exceptions import TaskTimeout
from sqlalchemy import bindparam, or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from app.core import metrics
from app.core.config import current_settings
from app.core.errors import InvalidTransition
from app.core.extensions import commit_keeping_loaded, db, dialect_name
from app.core.plain_rows import commit_new_rows
from app.core.text import clip
from app.jobs import outage
from app.jobs.errors import RetryableJobError, error_shape
from app.jobs.handover import enqueue
from app.jobs.specs import AfterCommit, JobSpec, spec_for
from app.lifecycle.changes import move_job
from app.lifecycle.states import JOB_TRANSITIONS, JobState, can_move
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow
from app.shar.errors import SharRetryableError, SharUnavailable

logger = logging.getLogger("sharboard.shar.jobs")
# The states a job may be claimed from: those the transition table lets become running.
CLAIMABLE = tuple(state for state, targets in JOB_TRANSITIONS.items() if JobState.RUNNING in targets)
RETRYABLE = (SharRetryableError, RetryableJobError, TaskTimeout, OperationalError, OSError)
# A scheduled message may arrive a little before its SQL time; allow for clock skew.
EARLY_TOLERANCE = timedelta(seconds=2)


def run_job(job_id: int, *, allow_retry: bool = True) -> JobRecord | None:
    """Run the next attempt of job `job_id`, if it is due and nobody else runs it."""
    job = _claim(job_id)
    if job is None:
        job = db.session.get(JobRecord, job_id)
        if job is None:
            logger.warning("job record missing", extra={"job_id": job_id})
        else:
            logger.info(
                "job not claimed (done, running elsewhere or not yet due)", extra={"job_id": job.id, "state": job.state}
            )
        return job
    spec = spec_for(job.job_type)
    if spec.needs_shar and (down := outage.current()) is not None:
        _hold(job, None, f"not sent: SHAR unreachable since {down.since:%H:%M:%S} UTC ({down.last_error})")
        return job
    attempt = JobAttempt(job_id=job.id, number=job.attempts, waited_seconds=_waited(job))
    fields = _log(job, attempt)
    db.session.add(attempt)
    # One plain INSERT (no unit of work), kept loaded: the claimed job is this worker's, and its handler
    # reads it without loading it again.
    commit_new_rows()
    logger.info("job attempt started", extra=fields)
    started = time.monotonic()
    try:
        after = spec.handler(job)
    except SharUnavailable as exc:
        db.session.rollback()
        if not spec.needs_shar:
            raise  # a job declared as not needing SHAR called it: a bug to see, not an outage to hide
        outage.opened(str(exc))
        _hold(job, attempt, clip(str(exc)), sent=exc.sent)
        outcome = "held"
    except Exception as exc:  # the boundary of a job: every failure is recorded
        db.session.rollback()
        outcome = _attempt_failed(job, attempt, spec, exc, allow_retry=allow_retry, fields=fields)
    else:
        _succeeded(job, attempt)
        # One transaction with what the handler left uncommitted (a status change and its timeline
        # entry); kept loaded, so what runs after it reads those rows without loading them again.
        commit_keeping_loaded()
        logger.info("job succeeded", extra=fields)
        outcome = "succeeded"
        _run_after(after, fields)
    metrics.job_attempt(spec.job_type, outcome, time.monotonic() - started, delivers=spec.delivers)
    return job


def _run_after(after: AfterCommit | None, fields: dict[str, object]) -> None:
    """What the handler left for after its work is committed (the events of a status change): its
    failure is logged, never the job's (the job's outcome is already committed)."""
    if after is None:
        return
    try:
        after()
    except Exception:
        db.session.rollback()
        logger.exception("work after the job's commit failed", extra=fields)


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


_JOBS, _ATTEMPTS = JobRecord.__table__, JobAttempt.__table__
# The attempt's end and the job's success, built once; on PostgreSQL one statement (the attempt's
# UPDATE in a WITH), elsewhere two. Core, not a flush: the unit of work spent more CPU on these two
# rows than on the rest of the commit.
_ATTEMPT_END = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("done_attempt"))
    .values(outcome="succeeded", ended_at=bindparam("done_at"))
)
_JOB_DONE = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("done_job"))
    .values(
        state=JobState.SUCCEEDED,
        finished_at=bindparam("done_at"),
        next_attempt_at=None,
        updated_at=bindparam("done_at"),
    )
)
_JOB_DONE_WITH_ATTEMPT = _JOB_DONE.add_cte(_ATTEMPT_END.cte("attempt_end"))


def _succeeded(job: JobRecord, attempt: JobAttempt) -> None:
    """Write the attempt's end and the job's success (uncommitted: the caller commits), and set them
    on the loaded rows as written, so nothing reads them back or writes them again."""
    if not can_move(JOB_TRANSITIONS, job.state, JobState.SUCCEEDED):
        raise InvalidTransition(f"job {job.id} is {job.state}; it cannot become {JobState.SUCCEEDED}")
    now = utcnow()
    params = {"done_job": job.id, "done_attempt": attempt.id, "done_at": now}
    if dialect_name() == "postgresql":
        db.session.execute(_JOB_DONE_WITH_ATTEMPT, params)
    else:
        db.session.execute(_ATTEMPT_END, params)
        db.session.execute(_JOB_DONE, params)
    for row, values in (
        (attempt, {"outcome": "succeeded", "ended_at": now}),
        (job, {"state": JobState.SUCCEEDED, "finished_at": now, "next_attempt_at": None, "updated_at": now}),
    ):
        for name, value in values.items():
            set_committed_value(row, name, value)


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


def _hold(job: JobRecord, attempt: JobAttempt | None, message: str, *, sent: bool = False) -> None:
    """Hold `job` until SHAR answers again: its claim is given back (no attempt counted), and a try
    that may have reached SHAR is remembered (`held_tries`), so its next attempt checks first."""
    now = utcnow()
    if attempt is not None:
        attempt.outcome, attempt.ended_at, attempt.error = "held", now, message
    job.attempts -= 1
    job.held_tries = (job.held_tries or 0) + (1 if sent else 0)
    job.last_error = message
    move_job(job, JobState.HELD, held_since=job.held_since or now, next_attempt_at=None)
    db.session.commit()
    outage.forget()  # the count of held jobs changed
    logger.warning("job held: SHAR unreachable", extra={"job_id": job.id, "job_type": job.job_type, "error": message})


def _waited(job: JobRecord) -> float:
    """Seconds since the previous attempt ended (or, for the first, since the job was queued)."""
    previous = None
    if job.attempts > 1:
        previous = (
            db.session.query(JobAttempt.ended_at)
            .filter(JobAttempt.job_id == job.id, JobAttempt.ended_at.is_not(None))
            .order_by(JobAttempt.number.desc())
            .limit(1)
            .scalar()
        )
    since = previous or job.created_at
    return max((utcnow() - since).total_seconds(), 0.0)


def _attempt_failed(
    job: JobRecord, attempt: JobAttempt, spec: JobSpec, exc: Exception, *, allow_retry: bool, fields: dict[str, object]
) -> str:
    """Record the failed attempt; returns "retried" or "failed" (for good)."""
    now = utcnow()
    message = clip(f"{exc}" or exc.__class__.__name__)  # may quote megabyte values: bounded here, once
    retry = allow_retry and isinstance(exc, RETRYABLE) and job.attempts < job.max_attempts
    attempt.ended_at, attempt.error = now, message
    attempt.traceback = traceback.format_exc()
    attempt.outcome = "retry" if retry else "failed"
    job.last_error, job.error_shape = message, error_shape(message)
    if retry:
        wait = spec.wait_before(job.attempts + 1, time_scale=current_settings().time_scale)
        move_job(job, JobState.RETRYING, next_attempt_at=now + timedelta(seconds=wait))
        db.session.commit()
        logger.warning("job attempt failed; will retry", extra={**fields, "wait": wait, "error": message})
        enqueue(job, delay=wait)
        return "retried"
    move_job(job, JobState.FAILED, finished_at=now, next_attempt_at=None)
    db.session.commit()
    logger.error("job failed", extra={**fields, "error": message})
    fail_for_good(job, spec, exc)
    return "failed"


def fail_for_good(job: JobRecord, spec: JobSpec, exc: BaseException) -> None:
    """Run the spec's final-failure handler; its own failure never undoes the job's state."""
    if spec.on_failure is None:
        return
    try:
        spec.on_failure(job, exc)
    except Exception:
        db.session.rollback()
        logger.exception("final-failure handler raised", extra={"job_id": job.id, "job_type": job.job_type})


def _log(job: JobRecord, attempt: JobAttempt) -> dict[str, object]:
    return {
        "job_id": job.id,
        "job_type": job.job_type,
        "queue": job.queue,
        "target": f"{job.target_type}:{job.target_id}",
        "attempt": attempt.number,
        "max_attempts": job.max_attempts,
    }


def note_attempt(job: JobRecord, **detail: object) -> None:
    """Add details (e.g. an HTTP status) to the running attempt of `job`; the caller commits."""
    # The newest row: a held try shares its number with the attempt after it.
    attempt = db.session.query(JobAttempt).filter_by(job_id=job.id).order_by(JobAttempt.id.desc()).first()
    if attempt is not None:
        attempt.detail = {**(attempt.detail or {}), **detail}
