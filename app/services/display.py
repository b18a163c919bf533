"""Display-only facts about a row, decided here so that templates compare no status: whether its
part of a page still polls, the words before an instance's current activities, what an empty
instance list says, and the one word people read for a status (STATUS_LABELS: the API keeps its values)."""

from __future__ import annotations

from collections.abc import Iterable

from app.lifecycle.states import TERMINAL, InstanceStatus, WorkflowStatus
from app.models import Workflow, WorkflowInstance
from app.services.launchable import diagram_only

# What people read for an instance status whose value is not their word. "cancelled" is the API's
# value; SHAR has no cancel call, so all sharboard does is stop tracking (the one term for it).
STATUS_LABELS = {InstanceStatus.CANCELLED.value: "tracking stopped"}
DIAGRAM_ONLY = "diagram only"


def filter_options(values: Iterable[str], chosen: str | None) -> list[tuple[str, str, bool]]:
    """(value, the word people read, chosen?) for a filter's options (statuses, states, job
    types): which one is selected is decided here, not by the template."""
    return [(value, STATUS_LABELS.get(value, value), value == chosen) for value in values]


def still_moving(row: Workflow | WorkflowInstance) -> bool:
    """Whether its status may change without a person acting: its badge or live part polls."""
    return row.status not in TERMINAL


def activities_label(instance: WorkflowInstance) -> str:
    """The words before an instance's current activities: where a failed one stopped, where another is."""
    return "failed at" if instance.status == InstanceStatus.FAILED else "at"


def empty_list_message(
    *, filtered: bool, error: str | None = None, things: str = "instances", unfiltered: str = ""
) -> str:
    """What a list of `things` with no rows says (`unfiltered`: what follows "No …" when no filter is
    set). A refused filter listed nothing because it was refused, not because nothing matched: saying
    "no instances match" too would be untrue."""
    if error:
        return "Nothing is listed until the filter above is corrected."
    return f"No {things} match this filter." if filtered else f"No {things}{unfiltered}."


def status_label(value: str | Workflow | WorkflowInstance | None) -> str:
    """The status as people read it: an active workflow with nothing executable is "diagram only",
    a cancelled instance "tracking stopped"; a status string is read as an instance's (the badges
    that show job or operation states show none of these values)."""
    if isinstance(value, Workflow):
        if value.status == WorkflowStatus.ACTIVE and diagram_only(value):
            return DIAGRAM_ONLY
        return str(value.status)
    status = value.status if isinstance(value, WorkflowInstance) else value
    return STATUS_LABELS.get(str(status), str(status or ""))


# The badge a webhook delivery's state wears, as a row's status of the same sense.
_DELIVERY_BADGES = {"delivered": "completed", "pending": "running", "failed": "failed", "refused": "failed"}


def delivery_badge(state: str) -> str:
    """The badge class of a webhook delivery in `state` (one of DELIVERY_STATES)."""
    return _DELIVERY_BADGES.get(state, "running")


def tracking_stopped(instance: WorkflowInstance) -> str:
    """What stopping tracking did, said to the person who asked: what SHAR keeps doing."""
    done = "sharboard stopped tracking this instance"
    if instance.shar_instance_id:
        return f"{done}; SHAR keeps running it (SHAR has no call to stop an instance)"
    if instance.launch_requests:  # sent, unanswered: it may have arrived
        return f"{done}; SHAR never answered its launch: if the launch arrived, it runs there untracked"
    return f"{done}; its launch had not been sent to SHAR, so nothing runs there"


def created_note(workflow: Workflow) -> tuple[str, str] | None:
    """The note (words, alert kind) on a version just uploaded: while SHAR creates it, and why it
    failed; none once it is active (or deleted): the list's badge says the rest."""
    if workflow.status == WorkflowStatus.CREATING:
        return (
            f"{workflow.name} v{workflow.version} is being created in SHAR; this note goes once it is active.",
            "info",
        )
    if workflow.status == WorkflowStatus.FAILED:
        return (
            f"{workflow.name} v{workflow.version} could not be created: {workflow.error or 'SHAR refused it'}",
            "error",
        )
    return None
