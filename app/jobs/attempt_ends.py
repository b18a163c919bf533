"""How a claimed attempt ends, whether it ran alone (app.jobs.runner) or with others (app.jobs.together):
it succeeded, it is held while SHAR cannot be reached, it failed and is retried after the spec's wait,
or it failed for good."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from huey.exceptions import TaskTimeout
from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from app.core.config import current_settings
from app.core.errors import InvalidTransition
from app.core.extensions import db, dialect_name
from app.core.text import clip
from app.jobs import database_faults, outage
from app.jobs.errors import RetryableJobError, error_shape
from app.jobs.handover import enqueue
from app.jobs.specs import AfterCommit, JobSpec
from app.lifecycle.changes import move_job
from app.lifecycle.states import JOB_TRANSITIONS, JobState, can_move
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow
from app.shar.errors import SharRetryableError

logger = logging.getLogger("sharboard.shar.jobs")
RETRYABLE = (SharRetryableError, RetryableJobError, TaskTimeout, OperationalError, OSError)

_JOBS, _ATTEMPTS = JobRecord.__table__, JobAttempt.__table__
# The attempts' end and the jobs' success, built once; on PostgreSQL one statement (the attempts'
# UPDATE in a WITH), elsewhere two. Core, not a flush: the unit of work spent more CPU on these
# rows than on the rest of the commit.
_ATTEMPTS_END = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id.in_(bindparam("done_attempts", expanding=True)))
    .values(outcome="succeeded", ended_at=bindparam("done_at"))
)
_JOBS_DONE = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("done_jobs", expanding=True)))
    .values(
        state=JobState.SUCCEEDED,
        finished_at=bindparam("done_at"),
        next_attempt_at=None,
        updated_at=bindparam("done_at"),
    )
)
_JOBS_DONE_WITH_ATTEMPTS = _JOBS_DONE.add_cte(_ATTEMPTS_END.cte("attempts_end"))


def succeeded(pairs: Sequence[tuple[JobRecord, JobAttempt]]) -> None:
    """Write the attempts' end and the jobs' success (uncommitted: the caller commits), and set them
    on the loaded rows as written, so nothing reads them back or writes them again."""
    for job, _attempt in pairs:
        if not can_move(JOB_TRANSITIONS, job.state, JobState.SUCCEEDED):
            raise InvalidTransition(f"job {job.id} is {job.state}; it cannot become {JobState.SUCCEEDED}")
    now = utcnow()
    params = {"done_jobs": [job.id for job, _ in pairs], "done_attempts": [a.id for _, a in pairs], "done_at": now}
    if dialect_name() == "postgresql":
        db.session.execute(_JOBS_DONE_WITH_ATTEMPTS, params)
    else:
        db.session.execute(_ATTEMPTS_END, params)
        db.session.execute(_JOBS_DONE, params)
    for job, attempt in pairs:
        for row, values in (
            (attempt, {"outcome": "succeeded", "ended_at": now}),
            (job, {"state": JobState.SUCCEEDED, "finished_at": now, "next_attempt_at": None, "updated_at": now}),
        ):
            for name, value in values.items():
                set_committed_value(row, name, value)


def run_after(after: AfterCommit | None, fields: dict[str, object]) -> None:
    """What the handler left for after its work is committed (the events of a status change): its
    failure is logged, never the job's (the job's outcome is already committed)."""
    if after is None:
        return
    try:
        after()
    except Exception:
        db.session.rollback()
        logger.exception("work after the job's commit failed", extra=fields)


def hold(job: JobRecord, attempt: JobAttempt | None, message: str, *, sent: bool = False) -> None:
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


def attempt_failed(
    job: JobRecord,
    attempt: JobAttempt,
    spec: JobSpec,
    exc: Exception,
    *,
    allow_retry: bool,
    fields: dict[str, object],
    trace: str,
) -> str:
    """Record the failed attempt (`trace`: its traceback); returns "retried", "database" (given back:
    the database could not be reached) or "failed" (for good). Written again while the database
    cannot be reached, for a few seconds (database_faults.patiently)."""
    message = clip(said(exc))  # may quote megabyte values: bounded here, once
    if allow_retry and database_faults.is_fault(exc):
        given_back = database_faults.patiently(lambda: _give_back(job, attempt, spec, message), "the attempt's end")
        if given_back is not None:
            logger.warning("database unreachable; attempt given back", extra={**fields, "wait": given_back})
            enqueue(job, delay=given_back)
            return database_faults.OUTCOME
        message = _database_too_long(job, message)
        allow_retry = False

    def write() -> float | None:
        now = utcnow()
        retry = allow_retry and isinstance(exc, RETRYABLE) and job.attempts < job.max_attempts
        attempt.ended_at, attempt.error = now, message
        attempt.traceback = trace
        attempt.outcome = "retry" if retry else "failed"
        job.last_error, job.error_shape = message, error_shape(message)
        if not retry:
            move_job(job, JobState.FAILED, finished_at=now, next_attempt_at=None)
            db.session.commit()
            return None
        wait = spec.wait_before(job.attempts + 1, time_scale=current_settings().time_scale)
        move_job(job, JobState.RETRYING, next_attempt_at=now + timedelta(seconds=wait))
        db.session.commit()
        return wait

    wait = database_faults.patiently(write, "the attempt's end")
    if wait is not None:
        logger.warning("job attempt failed; will retry", extra={**fields, "wait": wait, "error": message})
        enqueue(job, delay=wait)
        return "retried"
    logger.error("job failed", extra={**fields, "error": message})
    fail_for_good(job, spec, exc)
    return "failed"


def _give_back(job: JobRecord, attempt: JobAttempt, spec: JobSpec, message: str) -> float | None:
    """Give the attempt back for a database fault: not counted, and, for a job that may have called
    SHAR before the fault, remembered as a try that may have reached it (its next attempt checks
    first). Returns the wait before the next try; None when the fault has lasted past the longest
    hold (the caller fails the job)."""
    now = utcnow()
    if job.state != JobState.RUNNING:
        return 0.0  # its end was written after all (the fault took only the commit's answer)
    first = database_faults.first_given_back(job.id)
    if first is not None and (now - first).total_seconds() > current_settings().outage_max_hold:
        return None
    wait = database_faults.wait(current_settings().time_scale)
    attempt.outcome, attempt.ended_at, attempt.error = database_faults.OUTCOME, now, message
    job.attempts -= 1
    job.held_tries = (job.held_tries or 0) + (1 if spec.needs_shar else 0)
    job.last_error = message
    move_job(job, JobState.RETRYING, next_attempt_at=now + timedelta(seconds=wait))
    db.session.commit()
    return wait


def _database_too_long(job: JobRecord, message: str) -> str:
    first = database_faults.first_given_back(job.id)
    since = f" (since {first:%Y-%m-%d %H:%M} UTC)" if first else ""
    hold = current_settings().outage_max_hold
    return clip(f"the database could not be reached for longer than {hold:g} s{since}; last error: {message}")


def said(exc: BaseException) -> str:
    """What a failure says where people read it (the job's error, the instance's timeline). A database
    error's text quotes its SQL statement and parameters (variables, e-mail addresses): only the
    database's own first line is kept; the attempt's traceback keeps the rest for admins."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"the database failed ({type(exc.orig).__name__}): {first}" if first else "the database failed"
    return f"{exc}" or exc.__class__.__name__


def fail_for_good(job: JobRecord, spec: JobSpec, exc: BaseException) -> None:
    """Run the spec's final-failure handler; its own failure never undoes the job's state."""
    if spec.on_failure is None:
        return
    try:
        spec.on_failure(job, exc)
    except Exception:
        db.session.rollback()
        logger.exception("final-failure handler raised", extra={"job_id": job.id, "job_type": job.job_type})


def log_fields(job: JobRecord, attempt: JobAttempt) -> dict[str, object]:
    return {
        "job_id": job.id,
        "job_type": job.job_type,
        "queue": job.queue,
        "target": f"{job.target_type}:{job.target_id}",
        "attempt": attempt.number,
        "max_attempts": job.max_attempts,
    }
