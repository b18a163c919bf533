"""Display-only facts about a row, decided here so that templates compare no status: whether its
part of a page still polls, the words before an instance's current activities, and what an empty
instance list says."""

from __future__ import annotations

from app.lifecycle.states import TERMINAL, InstanceStatus
from app.models import Workflow, WorkflowInstance


def still_moving(row: Workflow | WorkflowInstance) -> bool:
    """Whether its status may change without a person acting: its badge or live part polls."""
    return row.status not in TERMINAL


def activities_label(instance: WorkflowInstance) -> str:
    """The words before an instance's current activities: where a failed one stopped, where another is."""
    return "failed at" if instance.status == InstanceStatus.FAILED else "at"


def empty_list_message(*, filtered: bool, error: str | None) -> str:
    """What an instance list with no rows says. A refused filter listed nothing because it was
    refused, not because nothing matched: saying "no instances match" too would be untrue."""
    if error:
        return "Nothing is listed until the filter above is corrected."
    return "No instances match this filter." if filtered else "No instances."
