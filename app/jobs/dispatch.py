"""Submitting jobs: the SQL record is committed first, then Huey is handed its id."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.config import current_settings
from app.errors import ServiceUnavailable
from app.extensions import commit_keeping_loaded, db
from app.jobs import outage
from app.jobs.handover import enqueue
from app.jobs.runner import run_job
from app.jobs.specs import spec_for
from app.models import JobRecord
from app.models._base import utcnow


def submit(job_type: str, *, target_type: str, target_id: str | int, payload: dict[str, Any] | None = None,
           created_by: int | None = None, delay: float = 0.0, queue: str | None = None,
           inline: bool = False) -> JobRecord:
    """Record a job (committing whatever the caller added to the session with it) and queue it.

    Never raises for a queue that is down: the job keeps `enqueue_error` and the
    reconciler hands it over once the queue is back. `inline` runs one attempt here and
    now instead (the blocking `async=false` variants), with the same records and events;
    while SHAR is known to be unreachable an inline job that needs it is refused before
    anything is stored (ServiceUnavailable: the caller's rows are never committed).
    """
    spec = spec_for(job_type)
    if inline and spec.needs_shar and (down := outage.current()) is not None:
        interval = current_settings().outage_probe_interval
        db.session.rollback()
        raise ServiceUnavailable(f"SHAR is unreachable (since {down.since:%Y-%m-%d %H:%M:%S} UTC): nothing was "
                                 "stored; try again when it answers, or leave out async=false to have the "
                                 "work queued until then", retry_after=max(int(interval), 1))
    job = JobRecord(
        job_type=job_type, queue=queue or spec.queue(current_settings()),
        target_type=target_type, target_id=str(target_id), max_attempts=spec.attempts(current_settings()),
        payload=payload or {}, created_by=created_by,
        next_attempt_at=utcnow() + timedelta(seconds=delay) if delay > 0 else None,
    )
    db.session.add(job)
    commit_keeping_loaded()  # what the request answers with next is what it just wrote
    if inline:
        run_job(job.id, allow_retry=False)
    else:
        enqueue(job, delay=delay)
    return job

