"""What a create or a launch came to, said once for every door: made now, failed in SHAR, queued,
stored for the queue, held until SHAR answers, or nothing new (the API maps each to a status code)."""

from __future__ import annotations

from enum import StrEnum

from app.lifecycle.states import JobState
from app.models import JobRecord


class Outcome(StrEnum):
    UNCHANGED = "unchanged"  # the same BPMN as the newest version: nothing new was made
    DONE = "done"  # a blocking call: SHAR has it now
    FAILED = "failed"  # a blocking call: SHAR refused it (the row's error says why)
    QUEUED = "queued"  # a job does it
    STORED = "stored"  # a job will: the queue refused it, and it is queued when the queue is back
    WAITING_FOR_SHAR = "waiting_for_shar"  # its job is held until SHAR answers


def of_job(job: JobRecord | None) -> Outcome:
    """Where a job handed to the queue stands: held for SHAR, stored (not queued) or queued."""
    if job is not None and job.state == JobState.HELD:
        return Outcome.WAITING_FOR_SHAR
    if job is not None and job.enqueue_error:
        return Outcome.STORED
    return Outcome.QUEUED


def settled(job: JobRecord, *, async_: bool, succeeded: bool) -> Outcome:
    """A create's or launch's outcome: its job's (asynchronous, or blocking but held while SHAR is
    out), else done or failed as SHAR answered the blocking call (`succeeded`)."""
    if async_ or job.state == JobState.HELD:
        return of_job(job)
    return Outcome.DONE if succeeded else Outcome.FAILED
