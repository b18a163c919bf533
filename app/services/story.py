"""Where an instance went, for its diagram (Cockpit's history view): the elements it passed through
and the sequence flows it took.

SHAR's gateway has no history call. What sharboard knows is what it recorded: the activities each
launch answer and each sync found the instance at (timeline entries of kind "moved", written here),
and, where SHAR offers the extension, the elements SHAR says it completed. From those, and the
file's flows (app.bpmn.paths): the start event it began at, an element seen alone between two passed
ones (a gateway or service task run between two syncs), the end event after the last one, and the
flows between passed elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from app.bpmn.paths import NO_GRAPH, FlowGraph, flow_graph
from app.core.extensions import db
from app.core.text import clip
from app.lifecycle.changes import record_activity
from app.lifecycle.states import InstanceStatus
from app.models import ActivityEvent, Workflow, WorkflowInstance
from app.services import element_names
from app.services.stored_files import PerFile

MOVED = "moved"  # the timeline entry that says where an instance was seen
MOVED_BY_HAND = "instance_moved"  # an operator moved its token (services.repair_work): from where, to where
MAX_LISTED = 200  # elements kept per entry: a file's flow nodes, far fewer in practice
CACHED_FILES = 256


@dataclass(frozen=True)
class Story:
    passed: tuple[str, ...] = ()  # elements it passed through and is no longer at
    flows: tuple[str, ...] = ()  # sequence flows it took
    moved_from: tuple[str, ...] = ()  # where the last move by an operator took it from (not where it is now)


def note_path(instance: WorkflowInstance, activities: Sequence[str], completed: Sequence[str] | None) -> None:
    """Record where the instance was seen now (`activities`) and what SHAR says it completed (None:
    SHAR does not say), with the caller's write (the caller commits)."""
    activities, completed = list(activities)[:MAX_LISTED], list(completed or ())[:MAX_LISTED]
    if not activities and not completed:
        return
    names = element_names.names_of(instance.workflow)
    said = names.describe_all(activities or completed)
    where = f"now at {said}" if activities else f"went through {said}"
    record_activity(instance, MOVED, clip(where), activities=activities, passed=completed)


def story_of(instance: WorkflowInstance) -> Story:
    """The elements and flows to mark as done on the instance's diagram."""
    current = set(instance.current_activities or ())
    seen: dict[str, None] = {}
    moved_from: list[str] = []
    for kind, data in db.session.execute(
        select(ActivityEvent.kind, ActivityEvent.data)
        .where(
            ActivityEvent.target_type == "instance",
            ActivityEvent.target_id == instance.id,
            ActivityEvent.kind.in_((MOVED, MOVED_BY_HAND)),
        )
        .order_by(ActivityEvent.created_at, ActivityEvent.id)
    ):
        if kind == MOVED_BY_HAND:
            moved_from = [e for e in (data or {}).get("from") or () if isinstance(e, str)]
            continue
        for key in ("passed", "activities"):
            seen.update(dict.fromkeys(e for e in (data or {}).get(key) or () if isinstance(e, str)))
    if not seen and not current:
        return Story()
    graph = _graph(instance.workflow)
    start = graph.start_of(instance.process_id, instance.start_message)
    reached = set(seen) | current | ({start} if start else set())
    reached |= set(graph.bridges(reached))
    if instance.status == InstanceStatus.COMPLETED:
        reached |= set(graph.ends_after(reached))
    passed = tuple(sorted(reached - current))
    left = tuple(e for e in moved_from if e not in current)
    return Story(passed=passed, flows=tuple(graph.between(reached)), moved_from=left)


_GRAPHS: PerFile[FlowGraph] = PerFile(lambda root: NO_GRAPH if root is None else flow_graph(root), CACHED_FILES)


def _graph(workflow: Workflow) -> FlowGraph:
    """The flows of a version's file, read once per process (a version's file never changes)."""
    return _GRAPHS.of(workflow)
