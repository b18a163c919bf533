"""Whether a workflow version has anything to launch: a file whose every process is marked not
executable is a diagram only. Read by access (no Launch offered), display (its label) and
instances.launch_instance (a 422 naming the reason)."""

from __future__ import annotations

from app.lifecycle.states import WorkflowStatus
from app.models import Workflow


def diagram_only(workflow: Workflow) -> str | None:
    """Why nothing of `workflow` can be launched, or None when a process of it can. A summary from
    before processes were listed says nothing: the engine decides then."""
    processes = (workflow.summary or {}).get("processes") or []
    if not processes or any(p.get("executable", p.get("is_executable")) for p in processes):
        return None
    what = "its process is" if len(processes) == 1 else f"each of its {len(processes)} processes is"
    return (
        f"{workflow.name} is a diagram only: {what} marked not executable, so there is nothing to launch. "
        "Mark a process as executable in the modelling tool and upload the file again."
    )


def launch_refusal(workflow: Workflow) -> str | None:
    """Why the launch form of `workflow` is disabled, said above it; None when it can be launched."""
    reason = diagram_only(workflow)
    if reason or workflow.status == WorkflowStatus.ACTIVE:
        return reason
    return f"This workflow is {workflow.status}; it can be launched once it is active."
