"""The status flow of workflows and instances, and the one way to change a status.

A change is a compare-and-set UPDATE (`... WHERE status = <expected>`): when two
workers race over one row only one wins, and only the winner fires events, which is
what makes completion notices exactly-once.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.errors import InvalidTransition
from app.extensions import db
from app.models import ActivityEvent, Workflow, WorkflowInstance
from app.models._base import utcnow

WORKFLOW_TRANSITIONS: dict[str, frozenset[str]] = {
    "creating": frozenset({"active", "failed"}),
    "active": frozenset({"inactive"}),
    "failed": frozenset({"creating", "inactive"}),  # creating again: an admin retry
    "inactive": frozenset(),
}
INSTANCE_TRANSITIONS: dict[str, frozenset[str]] = {
    "launching": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"completed", "failed", "cancelled"}),
    "failed": frozenset({"launching"}),  # an admin retry of a failed launch
    "completed": frozenset(),
    "cancelled": frozenset(),
}
WORKFLOW_STATUSES = tuple(WORKFLOW_TRANSITIONS)
INSTANCE_STATUSES = tuple(INSTANCE_TRANSITIONS)
# Badges stop polling at these: nothing will change without a person acting.
TERMINAL = frozenset({"active", "inactive", "completed", "failed", "cancelled"})

Row = Workflow | WorkflowInstance


def allowed(row: Row, new_status: str) -> bool:
    """Whether the status flow allows `row` to move to `new_status`."""
    table = WORKFLOW_TRANSITIONS if isinstance(row, Workflow) else INSTANCE_TRANSITIONS
    return new_status in table.get(row.status, frozenset())


def change_status(row: Row, new_status: str, *, message: str = "", **values: Any) -> bool:
    """Move `row` to `new_status` with `values`, if no one changed it meanwhile.

    Returns False when another worker already moved the row (the caller lost the race);
    raises InvalidTransition when the flow forbids the change. Commits on success.
    """
    old_status = row.status
    if not allowed(row, new_status):
        raise InvalidTransition(f"{_label(row)} is {old_status}; it cannot become {new_status}")
    model = type(row)
    now = utcnow()
    values = {"status": new_status, "updated_at": now, **values}
    if isinstance(row, WorkflowInstance):
        values.setdefault("progressed_at", now)
        if new_status in ("completed", "failed", "cancelled"):
            values.setdefault("completed_at", now)
    elif new_status == "active":
        values.setdefault("activated_at", now)
    result = db.session.execute(
        update(model)
        .where(model.id == row.id, model.status == old_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(row)
        return False
    record_activity(row, f"status_{new_status}", message or f"{old_status} → {new_status}",
                    previous_status=old_status, new_status=new_status)
    db.session.commit()
    db.session.refresh(row)
    return True


def record_activity(row: Row, kind: str, message: str, **data: Any) -> ActivityEvent:
    """Add a timeline entry for `row` to the session (the caller commits)."""
    event = ActivityEvent(
        subject_type="workflow" if isinstance(row, Workflow) else "instance",
        subject_id=str(row.id), kind=kind, message=message, data=data,
    )
    db.session.add(event)
    return event


def _label(row: Row) -> str:
    if isinstance(row, Workflow):
        return f"workflow {row.name} v{row.version}"
    return f"instance {row.id}"
