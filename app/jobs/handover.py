"""Handing a recorded job to its Huey queue; a refusal is kept on the record for the reconciler."""

from __future__ import annotations

import logging

from sqlalchemy import update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.queues import current_queues
from app.jobs.specs import spec_for
from app.models import JobRecord

logger = logging.getLogger("sharboard.shar.jobs")


def message_timeout(job_type: str) -> float:
    """The time limit a message of a `job_type` job carries: its bytes are made of it, so taking a
    message back (take_back) names the same one its hand-over used."""
    return spec_for(job_type).effective_timeout(current_settings())


def enqueue(job: JobRecord, *, delay: float = 0.0) -> bool:
    """Hand `job` to its Huey queue; on failure note why on the record and return False."""
    try:
        current_queues().enqueue(job.queue, job.id, delay=delay, timeout=message_timeout(job.job_type))
    except Exception as exc:  # any storage failure (Redis down, SQLite locked) must not lose the job
        logger.warning("could not queue job", extra={"job_id": job.id, "queue": job.queue, "error": str(exc)})
        job.enqueue_error = f"{exc.__class__.__name__}: {exc}"[:1000]
        db.session.commit()
        return False
    if job.enqueue_error:
        job.enqueue_error = None
        db.session.commit()
    return True


def enqueue_many(job_type: str, queue: str, job_ids: list[int]) -> int:
    """Hand a batch of just-recorded jobs of one kind to their queue in one go; when the queue
    refuses, every one of them keeps the reason for the reconciler. Returns how many went."""
    if not job_ids:
        return 0
    try:
        current_queues().enqueue_many(queue, job_ids, timeout=message_timeout(job_type))
    except Exception as exc:  # Redis down: nothing is lost, the records wait for the reconciler
        logger.warning("could not queue jobs", extra={"queue": queue, "count": len(job_ids), "error": str(exc)})
        db.session.execute(
            update(JobRecord)
            .where(JobRecord.id.in_(job_ids))
            .values(enqueue_error=f"{exc.__class__.__name__}: {exc}"[:1000])
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return 0
    return len(job_ids)


def take_back(job_type: str, queue: str, job_ids: list[int]) -> None:
    """Take back the still-queued messages of these `job_type` jobs, unrun (Queues.take_back): others
    ran them. Raises whatever the queue's storage raises."""
    current_queues().take_back(queue, job_ids, timeout=message_timeout(job_type))
