"""Held jobs (SHAR unreachable, app.jobs.outage) going on: queued again when SHAR answers, oldest
first and a ramp at a time, or failed once held longer than SHARBOARD_OUTAGE_MAX_HOLD.

Runs in the scheduler every second, which needs no queue to do it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs import outage
from app.jobs.attempt_ends import fail_for_good
from app.jobs.errors import error_shape
from app.jobs.handover import enqueue_many
from app.jobs.specs import spec_for
from app.lifecycle.changes import move_job
from app.lifecycle.states import JobState
from app.models import JobRecord
from app.models._base import utcnow

logger = logging.getLogger("sharboard.shar.outage")


class HeldTooLong(Exception):
    """SHAR stayed unreachable for longer than a job may be held."""


def release_held() -> dict[str, int]:
    """Fail what was held too long; when SHAR is reachable, queue the next ramp of held jobs."""
    failed = _fail_overdue()
    if outage.current(fresh=True) is not None:
        return {"failed": failed, "released": 0}
    waiting = db.session.scalar(select(JobRecord.id).where(JobRecord.state == JobState.HELD).limit(1))
    if waiting is None:
        return {"failed": failed, "released": 0}
    allowance = outage.take_ramp(current_settings().outage_ramp_start)
    jobs = list(
        db.session.scalars(
            select(JobRecord)
            .where(JobRecord.state == JobState.HELD)
            .order_by(JobRecord.created_at, JobRecord.id)
            .limit(allowance)
        )
    )
    batches: dict[tuple[str, str], list[int]] = defaultdict(list)
    for job in jobs:
        move_job(job, JobState.QUEUED, next_attempt_at=None)
        batches[(job.job_type, job.queue)].append(job.id)
    db.session.commit()
    for (job_type, queue), ids in batches.items():
        enqueue_many(job_type, queue, ids)  # a refusal stays on the records for the reconciler
    if jobs:
        logger.info("held jobs released", extra={"released": len(jobs), "allowance": allowance})
    return {"failed": failed, "released": len(jobs)}


def _fail_overdue() -> int:
    max_hold = current_settings().outage_max_hold
    cutoff = utcnow() - timedelta(seconds=max_hold)
    overdue = list(
        db.session.scalars(select(JobRecord).where(JobRecord.state == JobState.HELD, JobRecord.held_since < cutoff))
    )
    for job in overdue:
        message = (
            f"SHAR was unreachable for longer than {_hours(max_hold)} (held since "
            f"{job.held_since:%Y-%m-%d %H:%M} UTC); last error: {job.last_error or 'none'}"
        )
        job.last_error, job.error_shape = message, error_shape(message)
        move_job(job, JobState.FAILED, finished_at=utcnow())
        db.session.commit()
        logger.error("held job failed: held too long", extra={"job_id": job.id, "job_type": job.job_type})
        fail_for_good(job, spec_for(job.job_type), HeldTooLong(message))
    return len(overdue)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"
