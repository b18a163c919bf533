"""The statuses of workflows, instances and jobs, and the moves each may make.

One definition per concept: models, services, the OpenAPI document, templates and the
CLI all read these. Pure: no imports from the rest of the app.
"""

from __future__ import annotations

from enum import StrEnum


class WorkflowStatus(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    FAILED = "failed"
    INACTIVE = "inactive"


class InstanceStatus(StrEnum):
    LAUNCHING = "launching"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    # Waiting for SHAR to be reachable again (app.jobs.outage): no attempt is counted while held.
    HELD = "held"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


W, I, J = WorkflowStatus, InstanceStatus, JobState  # noqa: E741 (short names keep the tables readable)

WORKFLOW_TRANSITIONS: dict[str, frozenset[str]] = {
    W.CREATING: frozenset({W.ACTIVE, W.FAILED}),
    W.ACTIVE: frozenset({W.INACTIVE}),
    W.FAILED: frozenset({W.CREATING, W.INACTIVE}),  # creating again: an admin retry
    W.INACTIVE: frozenset(),
}
INSTANCE_TRANSITIONS: dict[str, frozenset[str]] = {
    I.LAUNCHING: frozenset({I.RUNNING, I.COMPLETED, I.FAILED, I.CANCELLED}),
    I.RUNNING: frozenset({I.COMPLETED, I.FAILED, I.CANCELLED}),
    # launching again: an admin retry of a failed launch; running again: a failed instance moved off the
    # element it failed at (services.repairs: SHAR runs it again from where it was moved to)
    I.FAILED: frozenset({I.LAUNCHING, I.RUNNING}),
    I.COMPLETED: frozenset(),
    I.CANCELLED: frozenset(),
}
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    J.QUEUED: frozenset({J.RUNNING, J.CANCELLED}),
    # queued again: the reconciler recovering an attempt whose worker died, attempts left
    J.RUNNING: frozenset({J.SUCCEEDED, J.RETRYING, J.FAILED, J.QUEUED, J.HELD}),
    J.RETRYING: frozenset({J.RUNNING, J.CANCELLED}),
    # queued again when SHAR answers (a ramp, oldest first); failed past SHARBOARD_OUTAGE_MAX_HOLD
    J.HELD: frozenset({J.QUEUED, J.FAILED, J.CANCELLED}),
    J.FAILED: frozenset({J.QUEUED}),  # an operator's retry
    J.SUCCEEDED: frozenset(),
    J.CANCELLED: frozenset(),
}

WORKFLOW_STATUSES = tuple(s.value for s in WorkflowStatus)
INSTANCE_STATUSES = tuple(s.value for s in InstanceStatus)
JOB_STATES = tuple(s.value for s in JobState)
# Instances whose life in SHAR is over: they end timers, durations and polling.
ENDED_INSTANCE = frozenset({I.COMPLETED, I.FAILED, I.CANCELLED})
# Not ended: its launch or its run is under way (what stuck checks, cancels and counts that may move read).
UNDER_WAY_INSTANCE = (I.LAUNCHING, I.RUNNING)
# Counted on a workflow's diagram: running instances wait at their current activities; a failed one
# keeps the activities where it was when it failed (app.services.sync), so it counts there.
ON_DIAGRAM_INSTANCE = (I.RUNNING, I.FAILED)
# What SHAR holds a token of, that an operator may repair (move it, change its variables): running, or
# failed there (stopped at the element it failed at).
REPAIRABLE_INSTANCE = (I.RUNNING, I.FAILED)
# Badges stop polling at these: nothing will change without a person acting.
TERMINAL = frozenset({W.ACTIVE, W.INACTIVE, I.COMPLETED, I.FAILED, I.CANCELLED})
OPEN_JOB_STATES = (J.QUEUED, J.RUNNING, J.RETRYING, J.HELD)
FINISHED_JOB_STATES = (J.SUCCEEDED, J.FAILED, J.CANCELLED)


def can_move(table: dict[str, frozenset[str]], old: str, new: str) -> bool:
    """Whether `table` allows a move from `old` to `new`."""
    return new in table.get(old, frozenset())
