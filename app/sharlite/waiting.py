"""What an instance waits for: the elements it waits at, when to wake it, and why nothing can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
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
}
PERSON_KINDS = {"UserTask", "ManualTask"}

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
            t.task_spec.bpmn_id
            for t in tasks
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
            and t.task_spec.bpmn_id
            and (type(t.task_spec).__name__ in WAITING_KINDS or waits_for_message(t))
        }
    )


def waits_for_message(task: Any, name: str | None = None) -> bool:
    """A message start, catch event, boundary event or receive task waiting for a message (named `name`)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, MessageEventDefinition) or task.state not in (TaskState.WAITING, TaskState.READY):
        return False
    return name is None or definition.name == name


def wake_at(tasks: list[Any], services: frozenset[str], task_delay: float) -> float | None:
    """When the first timer is due or a delayed service task may run (epoch seconds); None when neither waits."""
    wake: float | None = None
    for task in tasks:
        kind = type(task.task_spec).__name__
        if task.state == TaskState.WAITING and kind in ("IntermediateCatchEvent", "BoundaryEvent", "StartEvent"):
            candidate = timer_due(task)  # timers wake at their due time, not in a polling loop
            if candidate is None:
                continue
        elif task.state == TaskState.READY and task.task_spec.bpmn_id in services:
            candidate = task.last_state_change + task_delay
        else:
            continue
        wake = candidate if wake is None else min(wake, candidate)
    return wake


def timer_due(task: Any) -> float | None:
    """When a waiting timer is due (epoch seconds), from the value Spiff stored; None when not a timer."""
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None or "Timer" not in type(definition).__name__:
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
