"""SHAR instances the dashboard does not track, for admins: a scan of SHAR's list finds them,
an admin adopts one (a row now tracks it) or ignores it (remembered, never listed again).

An instance is untracked when no row has its SHAR id and its correlation variable does not
name a row still being launched (that launch's job adopts it). One whose correlation variable
names a row that tracks another SHAR instance is a duplicate launch, listed as such; one whose row
tracks none is that row's launch, which failed or was cancelled before SHAR answered.
Web requests never call SHAR: the scan is a job; the page shows what the last scan found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.extensions import db
from app.jobs.dispatch import submit
from app.lifecycle.changes import record_activity
from app.lifecycle.durations import measure, parse_shar_time
from app.lifecycle.states import InstanceStatus
from app.models import JobRecord, UntrackedSharInstance, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.audit import audit
from app.services.correlation import correlation_of, untagged
from app.services.rows import required
from app.services.variable_sizes import stored
from app.services.workflows import latest_workflow
from app.shar import current_client

SCAN = "scan_shar_instances"
ADOPTED, IGNORED = "adopted", "ignored"
_STATUS = {"running": InstanceStatus.RUNNING, "completed": InstanceStatus.COMPLETED, "failed": InstanceStatus.FAILED}


@dataclass(frozen=True)
class UntrackedPage:
    items: list[UntrackedSharInstance]
    ignored: int
    last_scan: JobRecord | None
    # Of the rows the items were launched for (their correlation ids), those tracking another SHAR
    # instance: an item launched for one of them is a duplicate; for any other, the row's launch
    # failed or was cancelled before SHAR answered, and the item is that row's only instance.
    tracking_another: frozenset[str] = frozenset()


# -- operations ------------------------------------------------------------------------


def untracked_page(*, actor: Actor) -> UntrackedPage:
    """What the last scan found that waits for a decision, oldest first."""
    require_admin(actor)
    row = UntrackedSharInstance
    items = list(
        db.session.scalars(select(row).where(row.decision.is_(None)).order_by(row.first_seen_at, row.shar_instance_id))
    )
    ignored = db.session.scalar(select(func.count()).select_from(row).where(row.decision == IGNORED))
    last_scan = db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == SCAN).order_by(JobRecord.id.desc()).limit(1)
    ).first()
    launched_for = sorted({item.correlation_id for item in items if item.correlation_id})
    tracking: set[str] = set()
    for chunk in _chunks(launched_for):
        tracking.update(
            db.session.scalars(
                select(WorkflowInstance.id).where(
                    WorkflowInstance.id.in_(chunk), WorkflowInstance.shar_instance_id.is_not(None)
                )
            )
        )
    return UntrackedPage(items, ignored, last_scan, frozenset(tracking))


def request_scan(*, actor: Actor) -> JobRecord:
    """Queue a scan of SHAR's instance list (the list call is SHAR's; a job makes it)."""
    require_admin(actor)
    audit(actor, "shar_instance.scan", "job", SCAN)
    return submit(SCAN, target_type="system", target_id=SCAN, created_by=actor.id)


def adopt_shar_instance(shar_instance_id: str, workflow_name: str, *, actor: Actor) -> WorkflowInstance:
    """Track an untracked SHAR instance as an instance of `workflow_name` (its newest version)."""
    require_admin(actor)
    entry = _open_entry(shar_instance_id)
    workflow = _named_workflow(workflow_name)
    if db.session.scalar(select(WorkflowInstance.id).where(WorkflowInstance.shar_instance_id == shar_instance_id)):
        raise Conflict(f"SHAR instance {shar_instance_id} is already tracked")
    now = utcnow()
    status = _STATUS.get(entry.status, InstanceStatus.RUNNING)
    instance = _adopted_row(entry, workflow, status, actor=actor, now=now)
    db.session.add(instance)
    db.session.flush()
    _record_adoption(entry, instance, workflow, status, actor=actor, now=now)
    db.session.commit()
    if status == InstanceStatus.RUNNING:
        from app.services.sync import submit_sync

        submit_sync(instance)  # read its current state from SHAR at once
    return instance


def _named_workflow(workflow_name: str) -> Workflow:
    """The newest version of the workflow an adopted instance belongs to."""
    workflow_name = (workflow_name or "").strip()
    if not workflow_name:
        raise InvalidInput.field("workflow_name", "name the workflow the instance belongs to")
    workflow = latest_workflow(workflow_name)
    if workflow is None:
        raise NotFound(f"no workflow named {workflow_name!r}")
    return workflow


def _adopted_row(
    entry: UntrackedSharInstance, workflow: Workflow, status: InstanceStatus, *, actor: Actor, now: datetime
) -> WorkflowInstance:
    """The row that tracks the SHAR instance from now on: as SHAR last showed it, ended or not."""
    ended = status != InstanceStatus.RUNNING
    seconds, clock = (
        measure(
            shar_created_at=entry.shar_created_at,
            shar_completed_at=entry.shar_completed_at,
            launched_at=None,
            completed_at=None,
        )
        if ended
        else (None, None)
    )
    return WorkflowInstance(
        workflow=workflow,
        status=status,
        shar_instance_id=entry.shar_instance_id,
        variables=untagged(entry.variables),
        created_by=actor.id,
        launch_requests=0,
        launched_at=now,
        last_synced_at=entry.last_seen_at,
        shar_created_at=entry.shar_created_at,
        shar_completed_at=entry.shar_completed_at,
        completed_at=now if ended else None,
        duration_seconds=seconds,
        duration_clock=clock,
    )


def _record_adoption(
    entry: UntrackedSharInstance,
    instance: WorkflowInstance,
    workflow: Workflow,
    status: InstanceStatus,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """The adopted row's first activity, the entry's decision and the audit entry; the caller commits."""
    shar_instance_id = entry.shar_instance_id
    record_activity(
        instance,
        "adopted",
        f"SHAR instance {shar_instance_id} adopted by {actor.email} as an "
        f"instance of {workflow.name} v{workflow.version}",
        shar_instance_id=shar_instance_id,
        shar_status=entry.status,
        by=actor.email,
    )
    entry.decision, entry.decided_by, entry.decided_at, entry.instance_id = ADOPTED, actor.id, now, instance.id
    audit(
        actor,
        "shar_instance.adopt",
        "shar_instance",
        shar_instance_id,
        after={
            "instance_id": instance.id,
            "workflow": workflow.name,
            "version": workflow.version,
            "status": str(status),
        },
    )


def ignore_shar_instance(shar_instance_id: str, *, actor: Actor) -> UntrackedSharInstance:
    """Never list this SHAR instance again (remembered across scans)."""
    require_admin(actor)
    entry = _open_entry(shar_instance_id)
    entry.decision, entry.decided_by, entry.decided_at = IGNORED, actor.id, utcnow()
    audit(
        actor,
        "shar_instance.ignore",
        "shar_instance",
        shar_instance_id,
        after={"workflow_name": entry.workflow_name, "status": entry.status},
    )
    db.session.commit()
    return entry


def _open_entry(shar_instance_id: str) -> UntrackedSharInstance:
    entry = required(UntrackedSharInstance, shar_instance_id, "untracked SHAR instance")
    if entry.decision is not None:
        raise Conflict(f"SHAR instance {shar_instance_id} was already {entry.decision}")
    return entry


# -- the work of the job (app.tasks calls this) -----------------------------------------


def scan_shar_instances() -> dict[str, int]:
    """Read SHAR's instance list and record the instances no row tracks; returns counts."""
    remote = current_client().list_instances()
    ids = [r.id for r in remote]
    tracked: set[str] = set()
    for chunk in _chunks(ids):
        tracked.update(
            db.session.scalars(
                select(WorkflowInstance.shar_instance_id).where(WorkflowInstance.shar_instance_id.in_(chunk))
            )
        )
    correlated = {c for c in (correlation_of(r.variables) for r in remote) if c}
    launching: set[str] = set()
    for chunk in _chunks(sorted(correlated)):
        launching.update(
            db.session.scalars(
                select(WorkflowInstance.id).where(
                    WorkflowInstance.id.in_(chunk), WorkflowInstance.status == InstanceStatus.LAUNCHING
                )
            )
        )
    now = utcnow()
    untracked: set[str] = set()
    candidates = [r for r in remote if r.id not in tracked and correlation_of(r.variables) not in launching]
    known: dict[str, UntrackedSharInstance] = {}
    for chunk in _chunks([r.id for r in candidates]):
        known.update(
            (e.shar_instance_id, e)
            for e in db.session.scalars(
                select(UntrackedSharInstance).where(UntrackedSharInstance.shar_instance_id.in_(chunk))
            )
        )
    for item in candidates:
        untracked.add(item.id)
        entry = known.get(item.id)
        if entry is None:
            entry = UntrackedSharInstance(shar_instance_id=item.id, first_seen_at=now)
            db.session.add(entry)
        entry.last_seen_at = now
        if entry.decision is None:
            entry.workflow_name, entry.status = item.workflow_name, item.status
            entry.variables = stored(item.variables)[0]  # within SHARBOARD_MAX_VARIABLES_BYTES, as a row's
            entry.correlation_id = correlation_of(item.variables)
            entry.shar_created_at = parse_shar_time(item.created_at)
            entry.shar_completed_at = parse_shar_time(item.completed_at)
    # What waits for a decision but is tracked now, or gone from SHAR, is no longer listed.
    open_ids = set(
        db.session.scalars(
            select(UntrackedSharInstance.shar_instance_id).where(UntrackedSharInstance.decision.is_(None))
        )
    )
    stale = sorted(open_ids - untracked)
    for chunk in _chunks(stale):
        db.session.execute(delete(UntrackedSharInstance).where(UntrackedSharInstance.shar_instance_id.in_(chunk)))
    db.session.commit()
    return {"listed": len(remote), "untracked": len(untracked), "dropped": len(stale)}


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
