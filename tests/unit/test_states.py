"""Job states move only along their table, as workflow and instance statuses do."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidTransition
from app.lifecycle.changes import move_job
from app.lifecycle.states import JOB_TRANSITIONS, JobState
from app.models import JobRecord


def test_job_moves_follow_the_table() -> None:
    job = JobRecord(id=1, state=JobState.FAILED)
    move_job(job, JobState.QUEUED, finished_at=None)  # an operator's retry
    assert job.state == JobState.QUEUED and job.finished_at is None
    for illegal in (JobState.SUCCEEDED, JobState.FAILED, JobState.RETRYING):
        with pytest.raises(InvalidTransition, match="cannot become"):
            move_job(job, illegal)
    done = JobRecord(id=2, state=JobState.SUCCEEDED)
    with pytest.raises(InvalidTransition):
        move_job(done, JobState.QUEUED)  # a finished job is never re-run by accident


def test_every_state_has_a_row_and_only_states_as_targets() -> None:
    assert set(JOB_TRANSITIONS) == set(JobState)
    assert all(target in set(JobState) for targets in JOB_TRANSITIONS.values() for target in targets)
