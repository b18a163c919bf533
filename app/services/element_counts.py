"""Where a workflow's instances are: the counts on its diagram (how many wait at each element, how
many failed there) and the version their polled fragment compares (a counter on the workflow
version, not a read of its instances)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import case, distinct, func, select

from app.core.errors import NotFound
from app.core.extensions import db, dialect_name
from app.lifecycle.states import ON_DIAGRAM_INSTANCE, UNDER_WAY_INSTANCE, InstanceStatus
from app.models import Workflow, WorkflowInstance
from app.services import activities
from app.services.access import instance_owner_filter
from app.services.actors import Actor
from app.services.instance_listing import InstanceFilter, filtered_instances
from app.services.workflows import version_number

COUNTED = ON_DIAGRAM_INSTANCE
# The counts may still move while one of these is under way (a launch ends running or failed).
MOVING = UNDER_WAY_INSTANCE
# Each count kept per element, and the status of the instances it counts (its link lists those).
KINDS = (("waiting", InstanceStatus.RUNNING), ("failed", InstanceStatus.FAILED))


@dataclass(frozen=True)
class CountsState:
    version: str  # what the counts depend on (the ETag of the polled fragment)
    workflow_name: str = field(compare=False, repr=False)
    workflow_version: int | str | None = field(compare=False, repr=False)
    actor: Actor = field(compare=False, repr=False)

    @cached_property
    def moving(self) -> bool:
        """Whether an instance the actor sees is launching or running: the counts may change, so
        they are polled. Read only when the fragment is drawn, never for an unchanged poll."""
        under_way = (
            filtered_instances(self.actor, InstanceFilter(workflow=self.workflow_name, version=self.workflow_version))
            .with_only_columns(WorkflowInstance.id)
            .where(WorkflowInstance.status.in_(MOVING))
            .limit(1)
        )
        return db.session.scalar(under_way) is not None


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
        .with_only_columns(element.c.value, *(counted(status) for _kind, status in KINDS), maintain_column_froms=True)
        .where(WorkflowInstance.status.in_(COUNTED))
        .group_by(element.c.value)
    )
    kinds = [kind for kind, _status in KINDS]
    return {str(element_id): dict(zip(kinds, counts, strict=True)) for element_id, *counts in rows}


def badges(counts: dict[str, int]) -> list[tuple[str, int, str]]:
    """One element's counts as the diagram shows them: (kind, how many, the status its link lists),
    the kinds counting none left out."""
    return [(kind, counts[kind], str(status)) for kind, status in KINDS if counts.get(kind)]


def element_counts_state(workflow_name: str, version: int | str | None = None, *, actor: Actor) -> CountsState:
    """What element_counts(...) depends on: the counts_revision of the version (of each version
    when `version` is None), which every write that may change a count moves
    (app.lifecycle.changes.counts_changed). Read by the (name, version) index, so an unchanged
    poll costs the same at 200 instances as at 200,000; shared by every actor, it moves when
    anyone's counts do. NotFound for an unknown workflow or version."""
    revisions = select(Workflow.version, Workflow.counts_revision).where(Workflow.name == workflow_name)
    if version is not None:
        revisions = revisions.where(Workflow.version == version_number(version))
    rows = db.session.execute(revisions.order_by(Workflow.version)).all()
    if not rows:
        raise NotFound(
            f"no workflow named {workflow_name!r}"
            if version is None
            else f"no version {version} of workflow {workflow_name!r}"
        )
    # Raw: the fragment's ETag is made from it (app.core.conditional). The owner filter, as the
    # counts are each actor's own.
    return CountsState(
        f"{workflow_name}|{version}|{instance_owner_filter(actor)}|{[tuple(r) for r in rows]}",
        workflow_name,
        version,
        actor,
    )
