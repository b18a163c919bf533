"""Operator actions on jobs: list failed ones, retry (one, many, a group), delete, flush."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select

from app.errors import Conflict, NotFound
from app.extensions import db
from app.jobs.dispatch import enqueue
from app.jobs.specs import spec_for
from app.models import JobAttempt, JobRecord

_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b\d+(\.\d+)?\b|'[^']*'|\"[^\"]*\"", re.I)


@dataclass
class RetryReport:
    requeued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def failed_jobs(*, queue: str | None = None, job_type: str | None = None, limit: int = 200) -> list[JobRecord]:
    query = select(JobRecord).where(JobRecord.state == "failed").order_by(JobRecord.finished_at.desc())
    if queue:
        query = query.where(JobRecord.queue == queue)
    if job_type:
        query = query.where(JobRecord.job_type == job_type)
    return list(db.session.scalars(query.limit(limit)))


def _failed_job(job_id: int, action: str) -> JobRecord:
    """The failed job `job_id`; NotFound or Conflict (naming `action`) otherwise."""
    job = db.session.get(JobRecord, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.state != "failed":
        raise Conflict(f"job {job_id} is {job.state}; only failed jobs can be {action}")
    return job


def retry_job(job_id: int) -> JobRecord:
    """Give a failed job a fresh set of attempts and queue it; its row moves back first."""
    job = _failed_job(job_id, "retried")
    spec = spec_for(job.job_type)
    if spec.on_retry is not None:
        spec.on_retry(job)
    job.state, job.finished_at, job.next_attempt_at = "queued", None, None
    job.max_attempts = job.attempts + spec.max_attempts
    db.session.commit()
    enqueue(job)
    return job


def retry_jobs(job_ids: Iterable[int]) -> RetryReport:
    """Retry each job; those that cannot be retried are reported with the reason."""
    report = RetryReport()
    for job_id in job_ids:
        try:
            retry_job(job_id)
        except (NotFound, Conflict) as exc:
            db.session.rollback()
            report.skipped[job_id] = exc.message
        else:
            report.requeued.append(job_id)
    return report


def delete_job(job_id: int) -> None:
    db.session.delete(_failed_job(job_id, "deleted"))
    db.session.commit()


def flush_failed() -> int:
    """Delete every failed job record; returns how many."""
    ids = list(db.session.scalars(select(JobRecord.id).where(JobRecord.state == "failed")))
    if ids:
        db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(ids)))
        db.session.execute(delete(JobRecord).where(JobRecord.id.in_(ids)))
        db.session.commit()
    return len(ids)


def error_shape(message: str | None) -> str:
    """The error with ids, numbers and quoted names blurred, so alike failures group together."""
    return _VOLATILE.sub("…", message or "")[:300]


def failed_groups() -> list[dict[str, object]]:
    """Failed jobs grouped by job type and error shape, largest group first."""
    groups: dict[tuple[str, str], list[int]] = {}
    for job_id, job_type, error in db.session.execute(
            select(JobRecord.id, JobRecord.job_type, JobRecord.last_error).where(JobRecord.state == "failed")):
        groups.setdefault((job_type, error_shape(error)), []).append(job_id)
    return sorted(({"job_type": t, "error_shape": s, "count": len(ids), "job_ids": ids}
                   for (t, s), ids in groups.items()), key=lambda g: -g["count"])  # type: ignore[operator]


def prune_finished(days: int) -> int:
    """Delete succeeded and failed job records older than `days` (the retention)."""
    from datetime import timedelta

    from app.models._base import utcnow

    cutoff = utcnow() - timedelta(days=days)
    ids = list(db.session.scalars(select(JobRecord.id).where(
        JobRecord.state.in_(("succeeded", "cancelled", "failed")), JobRecord.finished_at < cutoff)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(chunk)))
        db.session.execute(delete(JobRecord).where(JobRecord.id.in_(chunk)))
    db.session.commit()
    return len(ids)


def counts_by_state(queue: str) -> dict[str, int]:
    rows = db.session.execute(select(JobRecord.state, func.count()).where(JobRecord.queue == queue)
                              .group_by(JobRecord.state))
    return {state: count for state, count in rows}
