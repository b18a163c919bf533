"""Where a workflow's instances are: the counts on its diagram (how many wait at each element, how
many failed there) and the version their polled fragment compares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, distinct, func, select

from app.core.errors import NotFound
from app.core.extensions import db, dialect_name
from app.lifecycle.states import UNDER_WAY_INSTANCE, InstanceStatus
from app.models import Workflow, WorkflowInstance
from app.services import activities
from app.services.access import instance_owner_filter
from app.services.actors import Actor
from app.services.instance_listing import InstanceFilter, filtered_instances
from app.services.workflows import version_number

# Counted on the diagram: running instances wait at their current activities; a failed one keeps
# the activities where it was when it failed (app.services.sync), so it counts there.
COUNTED = (InstanceStatus.RUNNING, InstanceStatus.FAILED)
# The counts may still move while one of these is under way (a launch ends running or failed).
MOVING = UNDER_WAY_INSTANCE


@dataclass(frozen=True)
class CountsState:
    version: str  # what the counts depend on (the ETag of the polled fragment)
    moving: bool  # an instance is launching or running: the counts may change, so they are polled


def element_counts(workflow_name: str, version: int | str | None = None, *, actor: Actor) -> dict[str, dict[str, int]]:
    """{element id: {"waiting": n, "failed": n}} over the instances `actor` may see of one version
    of `workflow_name` (all its versions when `version` is None): how many running instances wait
    at each element now, and how many failed instances failed there. One grouped query."""
    if not workflow_name:
        return {}
    element = activities.elements(WorkflowInstance.current_activities, dialect_name())

    def counted(status: str) -> Any:
        return func.count(distinct(case((WorkflowInstance.status == status, WorkflowInstance.id))))

    rows = db.session.execute(
        filtered_instances(actor, InstanceFilter(workflow=workflow_name, version=version))
        .with_only_columns(
            element.c.value, counted(InstanceStatus.RUNNING), counted(InstanceStatus.FAILED), maintain_column_froms=True
        )
        .where(WorkflowInstance.status.in_(COUNTED))
        .group_by(element.c.value)
    )
    return {str(element_id): {"waiting": waiting, "failed": failed} for element_id, waiting, failed in rows}


def element_counts_state(workflow_name: str, version: int | str | None = None, *, actor: Actor) -> CountsState:
    """What element_counts(...) depends on, from one small grouped read by the (workflow_id, status)
    index: per status counted or moving, how many and the latest progress (`progressed_at` moves
    when an instance's activities or status change, not on every sync as `updated_at` does).
    NotFound for an unknown workflow or version, checked only when the read finds nothing."""
    rows = db.session.execute(
        filtered_instances(actor, InstanceFilter(workflow=workflow_name, version=version))
        .with_only_columns(
            WorkflowInstance.status, func.count(), func.max(WorkflowInstance.progressed_at), maintain_column_froms=True
        )
        .where(WorkflowInstance.status.in_(sorted({*MOVING, *COUNTED})))
        .group_by(WorkflowInstance.status)
        .order_by(WorkflowInstance.status)
    ).all()
    if not rows:
        known = select(Workflow.id).where(Workflow.name == workflow_name).limit(1)
        if version is not None:
            known = known.where(Workflow.version == version_number(version))
        if db.session.scalar(known) is None:
            raise NotFound(
                f"no workflow named {workflow_name!r}"
                if version is None
                else f"no version {version} of workflow {workflow_name!r}"
            )
    # Raw: the fragment's ETag is made from it (app.core.conditional).
    return CountsState(
        f"{workflow_name}|{version}|{instance_owner_filter(actor)}|{[tuple(r) for r in rows]}",
        any(status in MOVING for status, _, _ in rows),
    )
