"""The completion of an instance's waiting task as its page shows it: under way (its button says
"completing…" and stays disabled until the job answers) or failed for good at the tasks the
instance still waits at. The rules of a completion are instances.complete_task's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.core.extensions import db
from app.lifecycle.states import JobState
from app.models import JobRecord, WorkflowInstance
from app.services.instances import open_completion, waiting_user_tasks


@dataclass(frozen=True)
class CompletionState:
    waiting: list[str]  # the user tasks a completion would complete now
    under_way: JobRecord | None  # the completion job queued, running or retrying
    failed: str | None  # why the last completion of these same tasks failed for good


def completion_state(instance: WorkflowInstance) -> CompletionState:
    """Read when the live fragment is rendered (its version moves with the timeline, which records a
    completion's request, its success and its failure)."""
    waiting = waiting_user_tasks(instance)
    if not waiting:
        return CompletionState(waiting, None, None)
    under_way = open_completion(instance.id)
    if under_way is not None:
        return CompletionState(waiting, under_way, None)
    last = db.session.scalars(
        select(JobRecord)
        .where(
            JobRecord.target_type == "instance",
            JobRecord.target_id == instance.id,
            JobRecord.job_type == "complete_task",
        )
        .order_by(JobRecord.id.desc())
        .limit(1)
    ).first()
    # Only a failure at the tasks still waiting concerns the form: an older one was overtaken.
    if last is not None and last.state == JobState.FAILED and list(last.payload.get("waiting_at") or ()) == waiting:
        return CompletionState(waiting, None, last.last_error or "the completion failed")
    return CompletionState(waiting, None, None)
