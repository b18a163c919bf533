"""Submitting jobs: the SQL record is committed first, then Huey is handed its id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from app.core.config import current_settings
from app.core.errors import ServiceUnavailable
from app.core.extensions import db
from app.core.plain_rows import Condition, commit_new_rows
from app.jobs import outage
from app.jobs.handover import enqueue, enqueue_many
from app.jobs.runner import run_job
from app.jobs.specs import spec_for
from app.lifecycle.states import JobState
from app.models import JobRecord
from app.models._base import utcnow

FANOUT_JOBS = 500  # jobs recorded by one INSERT and handed to Huey in one Redis round trip


def submit(
    job_type: str,
    *,
    target_type: str,
    target_id: str | int,
    payload: dict[str, Any] | None = None,
    created_by: int | None = None,
    delay: float = 0.0,
    queue: str | None = None,
    inline: bool = False,
    only_if: Condition | None = None,
) -> JobRecord:
    """Record a job (committing whatever the caller added to the session with it) and queue it.

    Never raises for a queue that is down: the job keeps `enqueue_error` and the
    reconciler hands it over once the queue is back. `inline` runs one attempt here and
    now instead (the blocking `async=false` variants), with the same records and events;
    while SHAR is known to be unreachable an inline job that needs it is refused before
    anything is stored (ServiceUnavailable: the caller's rows are never committed). With `only_if`,
    nothing is stored unless it finds a row (plain_rows.NotWritten).
    """
    spec = spec_for(job_type)
    if inline and spec.needs_shar and (down := outage.current()) is not None:
        interval = current_settings().outage_probe_interval
        db.session.rollback()
        raise ServiceUnavailable(
            f"SHAR is unreachable (since {down.since:%Y-%m-%d %H:%M:%S} UTC): nothing was "
            "stored; try again when it answers, or leave out async=false to have the "
            "work queued until then",
            retry_after=max(int(interval), 1),
        )
    job = JobRecord(
        job_type=job_type,
        queue=queue or spec.queue(current_settings()),
        target_type=target_type,
        target_id=str(target_id),
        max_attempts=spec.attempts(current_settings()),
        payload=payload or {},
        created_by=created_by,
        next_attempt_at=utcnow() + timedelta(seconds=delay) if delay > 0 else None,
    )
    db.session.add(job)
    commit_new_rows(only_if)  # what the request answers with next is what it just wrote
    if inline:
        run_job(job.id, allow_retry=False)
    else:
        enqueue(job, delay=delay)
    return job


def submit_many(
    job_type: str,
    payloads: Sequence[dict[str, Any]],
    *,
    target_type: str,
    target_ids: Sequence[str | int],
    queue: str | None = None,
    delays: Sequence[float] = (),
    created_by: int | None = None,
) -> list[bool]:
    """Record a job per payload (its target the matching one of `target_ids`), FANOUT_JOBS an INSERT
    committed before any is queued (with whatever the caller added to the session, as submit), and
    hand each INSERT's jobs to Huey in one round trip: 20,000 fan out in well under a second.
    `delays` (seconds, one a job) postpone them; an INSERT holding a postponed job hands its jobs
    over one message each. Returns, in order, whether each job was handed over: a refusal stays on
    its record for the reconciler."""
    spec, settings = spec_for(job_type), current_settings()
    queue = queue or spec.queue(settings)
    common = {
        "job_type": job_type,
        "queue": queue,
        "target_type": target_type,
        "state": JobState.QUEUED,
        "attempts": 0,
        "max_attempts": spec.attempts(settings),
        "created_by": created_by,
    }
    if not payloads:
        db.session.commit()  # nothing to record, but what the caller added (its audit entry) still lands
        return []
    waits = list(delays) or [0.0] * len(payloads)
    handed: list[bool] = []
    for first in range(0, len(payloads), FANOUT_JOBS):
        part = range(first, min(first + FANOUT_JOBS, len(payloads)))
        now = utcnow()
        rows = [
            {
                **common,
                "target_id": str(target_ids[n]),
                "payload": payloads[n],
                "created_at": now,
                "updated_at": now,
                "next_attempt_at": now + timedelta(seconds=waits[n]) if waits[n] else None,
            }
            for n in part
        ]
        ids = list(db.session.scalars(insert(JobRecord).returning(JobRecord.id, sort_by_parameter_order=True), rows))
        db.session.commit()  # recorded before any is queued: a lost hand-over is the reconciler's
        if any(waits[n] for n in part):  # postponed jobs are rare (an operator's setting, a hand-over)
            handed += [
                enqueue(db.session.get(JobRecord, job_id), delay=waits[n]) for job_id, n in zip(ids, part, strict=True)
            ]
        else:
            handed += [bool(enqueue_many(job_type, queue, ids))] * len(ids)
    return handed
