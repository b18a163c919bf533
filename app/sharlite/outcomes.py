"""How an advance ends for an instance: completed or failed at an error end event, failed with its
last stored state, and why it failed in words for people.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.bpmn.specs import clean


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decide_outcome(workflow: BpmnWorkflow, record: dict[str, Any], tasks: list[Any], paused: bool) -> None:
    """A running instance fails at a reached error end event, and completes with its workflow (never
    while paused: a workflow Spiff stopped in looks completed)."""
    error_end = next(
        (
            t
            for t in tasks
            if t.state == TaskState.COMPLETED
            and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
            and type(t.task_spec).__name__ == "EndEvent"
        ),
        None,
    )
    if record["status"] == "running" and error_end is not None:
        definition = error_end.task_spec.event_definition
        code = getattr(definition, "code", None) or getattr(definition, "name", None) or "error"
        record.update(
            status="failed",
            completed_at=now_iso(),
            error=f"error end event {error_end.task_spec.bpmn_id} reached: {code}",
        )
    elif record["status"] == "running" and not paused and workflow.is_completed():
        record.update(status="completed", completed_at=now_iso())


def fail_unstored(record: dict[str, Any], error: str) -> None:
    """Fail an instance whose new variables or state are not stored: it keeps those last stored."""
    record.update(
        status="failed",
        error=error,
        completed_at=record.get("completed_at") or now_iso(),
        wake_at=None,
        current_activities=[],
        state=record.get("state") or "{}",
    )


def failure_reason(exc: BaseException, *, name_element: bool = True) -> str:
    """Why an instance failed, for people: no Python exception names, no object reprs, bounded."""
    message = clean(str(exc.args[0]) if exc.args else "") or "the engine could not continue"
    for attr, what in (("data_input", "input"), ("data_output", "output")):
        ref = getattr(exc, attr, None)
        if ref is not None:
            message = f"its data {what} {getattr(ref, 'bpmn_id', None) or ref} is missing"
    spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    if name_element and element and element not in message:
        message = f"at {element}: {message}"
    return message[:1000]
