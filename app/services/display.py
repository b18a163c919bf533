"""Display-only facts about a row, decided here so that templates compare no status: whether its
part of a page still polls, and the words before an instance's current activities."""

from __future__ import annotations

from app.lifecycle.states import TERMINAL, InstanceStatus
from app.models import Workflow, WorkflowInstance


def still_moving(row: Workflow | WorkflowInstance) -> bool:
    """Whether its status may change without a person acting: its badge or live part polls."""
    return row.status not in TERMINAL


def activities_label(instance: WorkflowInstance) -> str:
    """The words before an instance's current activities: where a failed one stopped, where another is."""
    return "failed at" if instance.status == InstanceStatus.FAILED else "at"
