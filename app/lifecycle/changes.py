"""The one way to change a workflow's or an instance's status, and a job's state.

An instance that ends gets its duration here (app.lifecycle.durations), so no caller can forget it.
Every change of an instance's status moves its version's counts_revision (counts_changed), the
version of the counts on its diagram.

A status change is a compare-and-set UPDATE (`... WHERE status = <expected>`): when two
workers race over one row only one wins, and only the winner fires events, which is
what makes completion notices exactly-once. The allowed moves are in app.lifecycle.states.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, event, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.core import plain_rows
from app.core.errors import InvalidTransition
from app.core.extensions import commit_keeping_loaded, db
from app.lifecycle.durations import with_duration
from app.lifecycle.states import (
    ENDED_INSTANCE,
    INSTANCE_TRANSITIONS,
    JOB_TRANSITIONS,
    ON_DIAGRAM_INSTANCE,
    WORKFLOW_TRANSITIONS,
    InstanceStatus,
    WorkflowStatus,
    can_move,
)
from app.models import ActivityEvent, JobRecord, Workflow, WorkflowInstance
from app.models._base import utcnow

Row = Workflow | WorkflowInstance


def allowed(row: Row, new_status: str) -> bool:
    """Whether the status flow allows `row` to move to `new_status`."""
    table = WORKFLOW_TRANSITIONS if isinstance(row, Workflow) else INSTANCE_TRANSITIONS
    return can_move(table, row.status, new_status)


def change_status(row: Row, new_status: str, *, message: str = "", commit: bool = True, **values: Any) -> bool:
    """Move `row` to `new_status` with `values`, if no one changed it meanwhile.

    Returns False when another worker already moved the row (the caller lost the race; the
    session is rolled back); raises InvalidTransition when the flow forbids the change. Commits on
    success, with whatever the caller added to the session (an audit entry, say), unless `commit`
    is False: a job's handler leaves it to the job's success commit (the UPDATE already holds the
    row, so the race is decided here either way), and fires its events after that commit.
    """
    old_status = row.status
    if not allowed(row, new_status):
        raise InvalidTransition(f"{_label(row)} is {old_status}; it cannot become {new_status}")
    model = type(row)
    now = utcnow()
    values = {"status": new_status, "updated_at": now, **values}
    if isinstance(row, WorkflowInstance):
        values.setdefault("progressed_at", now)
        if new_status in ENDED_INSTANCE:
            values.setdefault("completed_at", now)
            values = with_duration(row, values)
            if new_status != InstanceStatus.FAILED:
                # Ended where nothing waits; a failed instance keeps where it was (where it failed:
                # the diagram counts it there), as its caller says.
                values["current_activities"] = []
        elif old_status in ENDED_INSTANCE:  # an operator's retry: the row starts over
            values.update(completed_at=None, duration_seconds=None, duration_clock=None)
    elif new_status == WorkflowStatus.ACTIVE:
        values.setdefault("activated_at", now)
    with _flushing_only_if_needed(row):
        result = db.session.execute(
            _status_update(model, tuple(values)), {"_id": row.id, "_old": old_status, **_bound(values)}
        )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(row)
        return False
    if isinstance(row, WorkflowInstance) and {old_status, new_status} & set(ON_DIAGRAM_INSTANCE):
        counts_changed_at_commit(row.workflow_id)  # e.g. a launch placeholder cancelled changes no count
    record_activity(
        row,
        f"status_{new_status}",
        message or f"{old_status} → {new_status}",
        previous_status=str(old_status),
        new_status=str(new_status),
    )
    if commit:
        commit_keeping_loaded()
    for name, value in values.items():  # what was written is what the row holds: no read back
        set_committed_value(row, name, value)
    return True


def _flushing_only_if_needed(row: Row) -> AbstractContextManager[Any]:
    """The UPDATE needs a flush first only when the session holds unwritten changes to this row or new
    rows of its table. Other new rows (the timeline entry of where a launch's answer says the instance
    stands) are written with the commit, all the timeline's rows in one INSERT, not one round trip each."""
    session = db.session()
    if row in session.dirty or any(type(new) is type(row) for new in session.new):
        return nullcontext()
    return session.no_autoflush


@lru_cache(maxsize=128)
def _status_update(model: type[Row], columns: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE for these columns, built once: building a statement and its cache
    key cost more CPU than running it (a job changes a status on every launch and sync)."""
    table = model.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.status == bindparam("_old"))
        .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})
    )


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    return {f"v_{name}": value for name, value in values.items()}


def counts_changed(*workflow_ids: int | None, session: Session | None = None) -> None:
    """Move the counts_revision of these workflow versions, in the caller's transaction (the caller
    commits), so the counts' version (app.services.element_counts) moves with every write that may
    change a count and nothing else has to be read to know it. The unit of work calls it itself
    (launches, adoptions: connect()); a Core UPDATE or DELETE of instances must call it (change_status,
    the sync's progress, the cleanup). One UPDATE, rows in id order (two writers lock them in one
    order), as late as may be before the commit: the rows stay locked until then."""
    ids = sorted({i for i in workflow_ids if i is not None})
    if ids:
        (session or db.session).connection().execute(_COUNTS_BUMP, {"ids": ids})


_WORKFLOWS = Workflow.__table__
# Built once (every launch and sync that moves an instance runs it). updated_at set to itself: its
# onupdate would make this a change of the workflow.
_COUNTS_BUMP = (
    update(_WORKFLOWS)
    .where(_WORKFLOWS.c.id.in_(bindparam("ids", expanding=True)))
    .values(counts_revision=_WORKFLOWS.c.counts_revision + 1, updated_at=_WORKFLOWS.c.updated_at)
)


# What the diagram counts read of an instance: a change of any of these may move a count.
_COUNTED_COLUMNS = ("status", "current_activities", "created_by", "workflow_id")


_COUNTS_DUE = "sharboard.counts_due"


def counts_changed_at_commit(workflow_id: int) -> None:
    """counts_changed for this version, once at the commit however many status changes its
    transaction holds (jobs run together change several instances of one version), so its row is
    locked for the commit alone."""
    db.session().info.setdefault(_COUNTS_DUE, set()).add(workflow_id)


def _counts_due_at_commit(session: Session) -> None:
    due = session.info.pop(_COUNTS_DUE, None)
    if due:
        counts_changed(*due, session=session)


def _counts_due_forgotten(session: Session, transaction: Any) -> None:
    """A transaction ended without its commit (rolled back): what it held is gone, and so is its due
    change of the counts. A savepoint ending is not the transaction ending."""
    if transaction.parent is None:
        session.info.pop(_COUNTS_DUE, None)


def _counts_flushed(session: Session, _context: Any) -> None:
    """Instances the unit of work added, deleted or changed where counted (history is still there
    after the flush, the rows are written, so a new row's workflow_id is known)."""
    moved = _on_diagram(session.new)
    moved += [
        row.workflow_id
        for row in session.dirty
        if isinstance(row, WorkflowInstance)
        and any(inspect(row).attrs[c].history.has_changes() for c in _COUNTED_COLUMNS)
    ]
    # A deleted row is gone: what it held when loaded (its id, so its version, never changes).
    moved += [inspect(row).dict.get("workflow_id") for row in session.deleted if isinstance(row, WorkflowInstance)]
    counts_changed(*moved, session=session)


def _counts_inserted(session: Session, rows: list[Any]) -> None:
    """New instances plain_rows' INSERTs are about to write, which no flush sees, as _counts_flushed."""
    counts_changed(*_on_diagram(rows), session=session)


def _on_diagram(rows: Any) -> list[int]:
    # A launch placeholder is on no diagram: launches stay off the version's row (no lock taken).
    return [row.workflow_id for row in rows if isinstance(row, WorkflowInstance) and row.status in ON_DIAGRAM_INSTANCE]


def connect() -> None:
    """Watch every session's flushes, and plain_rows' inserts, once per process (idempotent)."""
    if not event.contains(Session, "after_flush", _counts_flushed):
        event.listen(Session, "after_flush", _counts_flushed)
        event.listen(Session, "before_commit", _counts_due_at_commit)
        event.listen(Session, "after_transaction_end", _counts_due_forgotten)
    plain_rows.before_insert(_counts_inserted)


def move_job(job: JobRecord, new_state: str, **values: Any) -> None:
    """Set a job's state (and `values`) on the loaded row; the caller commits.

    Only the claim races (it is a compare-and-set in the runner); every other move is made
    by the one worker or operator holding the job, so the table check is enough here.
    """
    if not can_move(JOB_TRANSITIONS, job.state, new_state):
        raise InvalidTransition(f"job {job.id} is {job.state}; it cannot become {new_state}")
    job.state = new_state
    for name, value in values.items():
        setattr(job, name, value)


def record_activity(row: Row, kind: str, message: str, **data: Any) -> ActivityEvent:
    """Add a timeline entry for `row` to the session (the caller commits)."""
    event = ActivityEvent(
        target_type="workflow" if isinstance(row, Workflow) else "instance",
        target_id=str(row.id),
        kind=kind,
        message=message,
        data=data,
    )
    db.session.add(event)
    return event


def _label(row: Row) -> str:
    if isinstance(row, Workflow):
        return f"workflow {row.name} v{row.version}"
    return f"instance {row.id}"


__all__ = [
    "InstanceStatus",
    "WorkflowStatus",
    "allowed",
    "change_status",
    "connect",
    "counts_changed",
    "move_job",
    "record_activity",
]
