"""Snapshots of workflows and instances for code outside sharboard (plug-ins, the Python API).

Plain frozen values, read from the row when made: they outlive the session and app context they
were read in, and changing one cannot write to the database behind sharboard's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from app.models import Workflow, WorkflowInstance


@dataclass(frozen=True)
class WorkflowView:
    """One version of a workflow."""

    id: int
    name: str
    version: int
    status: str  # creating, active, failed, inactive (app/lifecycle/states.py)
    description: str
    error: str | None
    created_by: int | None  # the user's id; None for a system actor
    created_at: datetime
    activated_at: datetime | None
    job_id: int | None = None  # the job the call that returned it queued (a create); None on a read


@dataclass(frozen=True)
class InstanceView:
    """One workflow instance."""

    id: str
    workflow_name: str
    workflow_version: int
    status: str  # launching, running, completed, failed, cancelled (app/lifecycle/states.py)
    variables: Mapping[str, Any]
    current_activities: tuple[str, ...]
    error: str | None
    created_by: int | None
    shar_instance_id: str | None
    created_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    job_id: int | None = None  # the job the call that returned it queued (a launch); None on a read


@dataclass(frozen=True)
class Event:
    """What a plug-in listener receives: the event's name (as in app/lifecycle/events.py), the
    instance or workflow it is about as they are now, and the event's own values (`error_message`,
    `previous_status`, `new_status`, ...)."""

    name: str
    workflow: WorkflowView
    instance: InstanceView | None = None  # None for the workflow_* events
    data: Mapping[str, Any] = field(default_factory=dict)


def workflow_view(workflow: Workflow, *, job_id: int | None = None) -> WorkflowView:
    return WorkflowView(
        id=workflow.id,
        name=workflow.name,
        version=workflow.version,
        status=str(workflow.status),
        description=workflow.description or "",
        error=workflow.error,
        created_by=workflow.created_by,
        created_at=workflow.created_at,
        activated_at=workflow.activated_at,
        job_id=job_id,
    )


def instance_view(instance: WorkflowInstance, *, job_id: int | None = None) -> InstanceView:
    return InstanceView(
        id=instance.id,
        workflow_name=instance.workflow.name,
        workflow_version=instance.workflow.version,
        status=str(instance.status),
        variables=MappingProxyType(dict(instance.variables or {})),
        current_activities=tuple(instance.current_activities or ()),
        error=instance.error,
        created_by=instance.created_by,
        shar_instance_id=instance.shar_instance_id,
        created_at=instance.created_at,
        launched_at=instance.launched_at,
        completed_at=instance.completed_at,
        duration_seconds=instance.duration_seconds,
        job_id=job_id,
    )


def event_for(name: str, sender: Workflow | WorkflowInstance, data: Mapping[str, Any]) -> Event:
    """The Event a plug-in listener gets for `sender` (an instance or a workflow version)."""
    frozen = MappingProxyType(dict(data))
    if isinstance(sender, WorkflowInstance):
        return Event(name, workflow_view(sender.workflow), instance_view(sender), frozen)
    return Event(name, workflow_view(sender), None, frozen)
