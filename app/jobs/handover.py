"""Handing a recorded job to its Huey queue; a refusal is kept on the record for the reconciler."""
from __future__ import annotations

import logging

from app.config import current_settings
from app.extensions import db
from app.jobs.specs import spec_for
from app.models import JobRecord
from app.queues import current_queues

logger = logging.getLogger("sharboard.shar.jobs")


def enqueue(job: JobRecord, *, delay: float = 0.0) -> bool:
    """Hand `job` to its Huey queue; on failure note why on the record and return False."""
    spec = spec_for(job.job_type)
    settings = current_settings()
    try:
        current_queues().enqueue(job.queue, job.id, delay=delay, timeout=spec.effective_timeout(settings))
    except Exception as exc:  # any storage failure (Redis down, SQLite locked) must not lose the job
        logger.warning("could not queue job", extra={"job_id": job.id, "queue": job.queue, "error": str(exc)})
        job.enqueue_error = f"{exc.__class__.__name__}: {exc}"[:1000]
        db.session.commit()
        return False
    if job.enqueue_error:
        job.enqueue_error = None
        db.session.commit()
    return True
