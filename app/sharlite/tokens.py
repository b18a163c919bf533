"""Where an instance stands, in Spiff's task tree: its tokens, the unit a token leaves with, and the
parallel joins an element leads to (what a moved token must keep, for the join to fire again).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit, StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

from app.sharlite.waiting import WAITING_KINDS, shown_ids, waits_for_message

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def shown(tasks: Any) -> set[str]:
    """The element ids of the visible tokens among `tasks` (a gateway's as its catch events)."""
    return {i for t in tasks if visible(t) for i in shown_ids(t)}


def visible(task: Any) -> bool:
    """A token the contract shows in current_activities (a waiting task, catch event or message)."""
    return bool(task.task_spec.bpmn_id) and (type(task.task_spec).__name__ in WAITING_KINDS or waits_for_message(task))


def standing(workflow: Any, *, failed: bool) -> dict[str, list[Any]]:
    """The elements the instance stands at, by id, with their tasks: its waiting elements, and when it
    failed, the element it failed at (a task in error, or a reached error end event)."""
    found: dict[str, list[Any]] = {}
    for task in workflow.get_tasks():
        if not task.task_spec.bpmn_id:
            continue
        if (
            (task.has_state(LIVE) and visible(task))
            or (failed and task.state == TaskState.ERROR)
            or (failed and failed_end(task))
        ):
            for bpmn_id in shown_ids(task):  # a gateway's catches: moving from one moves the gateway's token
                found.setdefault(bpmn_id, []).append(task)
    return found


def failed_end(task: Any) -> bool:
    return (
        task.state == TaskState.COMPLETED
        and type(task.task_spec).__name__ == "EndEvent"
        and isinstance(getattr(task.task_spec, "event_definition", None), ErrorEventDefinition)
    )


def failed_at(workflow: Any) -> list[str]:
    """Where a failed instance stands: the element ids a move may start `from`."""
    return sorted(standing(workflow, failed=True))


def unit(task: Any) -> Any:
    """What leaves with a token: an activity with boundary events leaves with them (their split), a
    catch event after an event-based gateway or a waiting start leaves with its siblings."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, (BoundaryEventSplit, StartEventSplit, EventBasedGateway)):
        return parent
    return task


def tokens_under(task: Any, *, include_self: bool = True) -> list[Any]:
    """Every live or failed task at or below `task` (hidden ones too: a waiting join)."""
    return [
        t
        for t in task
        if (include_self or t is not task) and (t.has_state(LIVE) or t.state == TaskState.ERROR) and t.task_spec.bpmn_id
    ]


def is_join(spec: Any) -> bool:
    """A gateway that waits for tokens on several incoming flows."""
    return isinstance(spec, (ParallelGateway, InclusiveGateway)) and len(spec.inputs) > 1


def joins_ahead(spec: Any) -> frozenset[tuple[str, str]]:
    """The parallel joins a token at `spec` reaches before any other parallel gateway, with the flow
    (its source element) it arrives by: two tokens are interchangeable for the joins when these match."""
    found: set[tuple[str, str]] = set()
    seen: set[str] = set()
    pending = [spec]
    while pending:
        current = pending.pop()
        for output in current.outputs:
            if isinstance(output, ParallelGateway):
                if len(output.inputs) > 1:
                    found.add((output.name, current.name))
                continue  # a split makes balanced tokens; a join is where this token's path ends here
            if output.name not in seen:
                seen.add(output.name)
                pending.append(output)
    return frozenset(found)


def placed_spec(spec: Any) -> Any:
    """The spec a token is placed at for element `spec`: an activity with boundary events is entered
    through their split, so its events wait with it."""
    for parent in spec.inputs:
        if isinstance(parent, BoundaryEventSplit):
            return parent
    return spec


def refused_target(spec: Any) -> str | None:
    """Why no token can be placed at `spec`, or None."""
    if isinstance(spec, BoundaryEvent):
        activity = next((s.bpmn_id for s in spec.inputs[0].outputs if not isinstance(s, BoundaryEvent)), None)
        return (
            f"{spec.bpmn_id} is a boundary event: it takes a token only when its activity catches the event; "
            f"move to its activity {activity} instead"
        )
    gateway = next((s for s in spec.inputs if isinstance(s, EventBasedGateway)), None)
    if gateway is not None:
        # Spiff holds the catch's event on the gateway: a token placed at the catch would not wait
        return (
            f"{spec.bpmn_id} follows event-based gateway {gateway.bpmn_id}: it waits only as one of the "
            f"gateway's branches; move to {gateway.bpmn_id} instead"
        )
    if is_join(spec):
        return (
            f"{spec.bpmn_id} joins several flows: a token placed there cannot say which flow it came by; "
            "move to the last element of its branch, or to the element after the join"
        )
    return None
