"""What an instance waits for: the elements it waits at, when to wake it, and why nothing can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.util.task import TaskState

WAITING_KINDS = {
    "UserTask",
    "ManualTask",
    "ServiceTask",
    "NoneTask",
    "IntermediateCatchEvent",
    "ReceiveTask",
    "BoundaryEvent",
    "SendTask",
    "EventBasedGateway",  # shown as the catch events after it (shown_ids)
}
PERSON_KINDS = {"UserTask", "ManualTask"}
_TIMED_KINDS = ("IntermediateCatchEvent", "BoundaryEvent", "StartEvent", "EventBasedGateway")

_WAITS_FOR = {
    "SignalEventDefinition": "a signal",
    "ConditionalEventDefinition": "a condition",
    "EscalationEventDefinition": "an escalation",
    "ErrorEventDefinition": "an error",
    "CancelEventDefinition": "a cancel event",
    "MessageEventDefinition": "a message",
}


def current_activities(tasks: list[Any]) -> list[str]:
    """The elements a running instance waits at: a task, a catch event or a message, by id."""
    return sorted(
        {
            shown
            for t in tasks
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
            and t.task_spec.bpmn_id
            and (type(t.task_spec).__name__ in WAITING_KINDS or waits_for_message(t))
            for shown in shown_ids(t)
        }
    )


def gateway_catches(task: Any) -> list[tuple[str, Any]]:
    """An event-based gateway's waits, (catch element id, its event definition), in the order Spiff
    matches them; empty for any other task. Spiff moves the definitions of the catch events after the
    gateway onto the gateway's own task: the gateway waits, the catches pass straight through."""
    spec = task.task_spec
    if not isinstance(spec, EventBasedGateway):
        return []
    return [(out.bpmn_id, d) for out, d in zip(spec.outputs, spec.event_definition.event_definitions, strict=False)]


def one_event_per_gateway(task: Any) -> None:
    """Before an event-based gateway runs, keep only the first event it caught: it takes that one
    branch. Spiff keeps every event seen by then (a message, then a timer that came due before the
    gateway ran) and would take each of their branches."""
    if isinstance(task.task_spec, EventBasedGateway):
        seen = task.internal_data.get("seen_events") or []
        if len(seen) > 1:
            task.internal_data["seen_events"] = seen[:1]


def shown_ids(task: Any) -> list[str]:
    """The element ids a live task is shown as: an event-based gateway as the catch events it waits
    with (each waits for its own message or timer), any other task as its element."""
    return [bpmn_id for bpmn_id, _ in gateway_catches(task)] or [task.task_spec.bpmn_id]


def message_waits(task: Any) -> dict[str, str]:
    """The messages a message start, catch event, boundary event, receive task or event-based gateway
    waits for: element id -> message name (a gateway waits with the catches after it)."""
    if isinstance(task.task_spec, EventBasedGateway):
        if task.state != TaskState.WAITING:
            return {}  # a gateway past WAITING has caught its event: it takes no other
        return {i: d.name for i, d in gateway_catches(task) if isinstance(d, MessageEventDefinition)}
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, MessageEventDefinition) or task.state not in (TaskState.WAITING, TaskState.READY):
        return {}
    return {task.task_spec.bpmn_id: definition.name}


def waits_for_message(task: Any, name: str | None = None) -> bool:
    """A message start, catch event, boundary event, receive task or event-based gateway waiting for a
    message (named `name`)."""
    return any(name is None or waited == name for waited in message_waits(task).values())


def wake_at(tasks: list[Any], services: frozenset[str], task_delay: float) -> float | None:
    """When the first timer is due or a delayed service task may run (epoch seconds); None when neither waits."""
    wake: float | None = None
    for task in tasks:
        kind = type(task.task_spec).__name__
        if task.state == TaskState.WAITING and kind in _TIMED_KINDS:
            candidate = timer_due(task)  # timers wake at their due time, not in a polling loop
            if candidate is None:
                continue
        elif task.state == TaskState.READY and kind == "EventBasedGateway":
            candidate = time.time()  # its timer fired as the last step ended: take its branch now
        elif task.state == TaskState.READY and task.task_spec.bpmn_id in services:
            candidate = task.last_state_change + task_delay
        else:
            continue
        wake = candidate if wake is None else min(wake, candidate)
    return wake


def timer_due(task: Any) -> float | None:
    """When a waiting timer (or an event-based gateway's timer) is due (epoch seconds), from the value
    Spiff stored on the task; None when it waits for no timer."""
    definitions = [d for _, d in gateway_catches(task)] or [getattr(task.task_spec, "event_definition", None)]
    if not any(d is not None and "Timer" in type(d).__name__ for d in definitions):
        return None
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, str):
        try:
            due = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return time.time() + 1.0
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return due.timestamp()
    return time.time() + 1.0  # not computed yet: look again soon


def stuck_reason(tasks: list[Any]) -> str:
    """Why an instance that waits for nothing sharlite can deliver cannot go on, naming where it stopped."""
    waiting = []
    for task in tasks:
        if task.state != TaskState.WAITING or not task.task_spec.bpmn_id:
            continue
        definition = type(getattr(task.task_spec, "event_definition", None)).__name__
        what = _WAITS_FOR.get(definition) or (
            "flows that never arrive"
            if "Gateway" in type(task.task_spec).__name__
            else "something sharlite cannot deliver"
        )
        waiting.append(f"{task.task_spec.bpmn_id} (waiting for {what})")
    if not waiting:
        return (
            "the instance stopped before reaching an end event, with nothing left to run or wait for; "
            "check that every path of the process ends in an end event"
        )
    shown = ", ".join(sorted(set(waiting))[:5])
    return f"nothing can move this instance on: it waits only at {shown}, which sharlite cannot deliver"
