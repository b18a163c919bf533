"""An attempt that meets a database fault is given back (not counted) until the faults of its job have
lasted longer than SHARBOARD_OUTAGE_MAX_HOLD; then the job fails, naming the database."""

from __future__ import annotations

from datetime import timedelta

import psycopg
from sqlalchemy.exc import OperationalError

from app.core.extensions import db
from app.jobs import database_faults
from app.jobs.attempt_ends import attempt_failed
from app.jobs.specs import spec_for
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow


def _fault() -> OperationalError:
    return OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown())


def _running_job(offline_app, first_fault_ago: timedelta | None) -> tuple[JobRecord, JobAttempt]:  # type: ignore[no-untyped-def]
    job = JobRecord(job_type="cleanup", queue="q", target_type="system", target_id="x", state="running", attempts=1)
    db.session.add(job)
    db.session.commit()
    if first_fault_ago is not None:
        db.session.add(
            JobAttempt(job_id=job.id, number=1, outcome=database_faults.OUTCOME, started_at=utcnow() - first_fault_ago)
        )
    attempt = JobAttempt(job_id=job.id, number=1)
    db.session.add(attempt)
    db.session.commit()
    return job, attempt


def test_a_fault_is_given_back_then_fails_the_job_past_the_longest_hold(offline_app) -> None:  # type: ignore[no-untyped-def]
    spec = spec_for("cleanup")
    job, attempt = _running_job(offline_app, None)
    outcome = attempt_failed(job, attempt, spec, _fault(), allow_retry=True, fields={}, trace="")
    db.session.expire_all()
    assert outcome == database_faults.OUTCOME
    assert (job.state, job.attempts, attempt.outcome) == ("retrying", 0, database_faults.OUTCOME)

    hold = offline_app.config["SHARBOARD_SETTINGS"].outage_max_hold
    job, attempt = _running_job(offline_app, timedelta(seconds=hold + 60))
    outcome = attempt_failed(job, attempt, spec, _fault(), allow_retry=True, fields={}, trace="")
    db.session.expire_all()
    assert outcome == "failed" and job.state == "failed"
    assert "the database could not be reached for longer than" in job.last_error, job.last_error
    database_faults.cleared()
