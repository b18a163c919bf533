"""Reading instance state back from SHAR: one instance (queued or now), every running one
in batches, the periodic sync, and the cleanup of old instances."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.config import current_settings
from app.durations import parse_shar_time
from app.errors import Conflict, UpstreamFailed
from app.events import (
    fire,
    instance_completed,
    instance_failed,
    instance_sync_failed,
    instance_synced,
)
from app.extensions import commit_keeping_loaded, db
from app.jobs import leases
from app.jobs.dispatch import submit
from app.jobs.handover import enqueue, enqueue_many
from app.jobs.specs import spec_for
from app.models import ActivityEvent, JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.access import find_instance, require_admin, require_writer
from app.services.actors import Actor
from app.services.audit import audit
from app.services.callbacks import check_callback
from app.services.correlation import untagged
from app.shar import SharError, current_client
from app.states import OPEN_JOB_STATES, InstanceStatus
from app.status import change_status

logger = logging.getLogger("sharboard.shar.sync")
PERIODIC_SYNC = "periodic_sync"


@dataclass(frozen=True)
class SyncBatch:
    status: str
    candidates: int
    queued: int


# -- operations ------------------------------------------------------------------------

def request_sync(instance_id: str, *, actor: Actor, callback_url: str | None = None,
                 bulk: int | None = None) -> JobRecord:
    """Queue a sync of one instance (a callback URL gets the outcome, whatever the status). As
    part of bulk operation `bulk`, its one audit entry covers this."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    callback_url = check_callback(callback_url)
    if instance.status != InstanceStatus.RUNNING and not callback_url:
        raise Conflict(f"instance {instance.id} is {instance.status}; only running instances are synced")
    if bulk is None:
        audit(actor, "instance.sync", "instance", instance.id)
    return submit_sync(instance, callback_url=callback_url, created_by=actor.id)


def sync_instance_now(instance_id: str, *, actor: Actor, callback_url: str | None = None) -> WorkflowInstance:
    """Read the instance from SHAR here and now (the blocking `async=false` variant)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    callback_url = check_callback(callback_url)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"instance {instance.id} is {instance.status}; only running instances are synced")
    audit(actor, "instance.sync", "instance", instance.id, after={"blocking": True})
    db.session.commit()
    try:
        apply_shar_state(instance, callback_url=callback_url)
    except SharError as exc:
        raise UpstreamFailed(f"SHAR: {exc}") from exc
    return instance


def queue_syncs(*, actor: Actor, status: str = InstanceStatus.RUNNING, force: bool = False) -> SyncBatch:
    """Queue syncs of every instance in `status` (those synced within the interval only with `force`)."""
    require_admin(actor)
    settings = current_settings()
    query = select(WorkflowInstance.id).where(WorkflowInstance.status == status)
    if not force:
        recent = utcnow() - timedelta(seconds=settings.shar_sync_interval)
        query = query.where((WorkflowInstance.last_synced_at.is_(None)) | (WorkflowInstance.last_synced_at < recent))
    ids = list(db.session.scalars(query))
    audit(actor, "instance.sync_many", "instance", "*", after={"status": status, "candidates": len(ids)})
    queued = batch_sync(ids, queue=settings.shar_sync_queue, delay=settings.shar_sync_batch_delay)
    return SyncBatch(status, len(ids), queued)


def start_periodic_sync(*, actor: Actor) -> JobRecord:
    """Queue the periodic sync now (an operator's button, or the scheduler's due time)."""
    require_admin(actor)
    audit(actor, "queue.periodic_sync", "job", PERIODIC_SYNC)
    return submit_periodic_sync(created_by=actor.id)


def submit_periodic_sync(*, created_by: int | None = None) -> JobRecord:
    """The scheduler's due-time start; operators go through start_periodic_sync."""
    return submit(PERIODIC_SYNC, target_type="system", target_id=PERIODIC_SYNC, created_by=created_by)


def last_periodic_sync():  # type: ignore[no-untyped-def]
    return leases.last_run(PERIODIC_SYNC)


def cleanup_instances(*, actor: Actor, days: int, statuses: Sequence[str], dry_run: bool = False) -> int:
    """Delete instances that ended more than `days` ago in one of `statuses`; returns the count."""
    require_admin(actor)
    ids = _ended_before(days, statuses)
    if dry_run or not ids:
        return len(ids)
    audit(actor, "instance.cleanup", "instance", "*", after={"days": days, "statuses": list(statuses),
                                                              "deleted": len(ids)})
    return _delete_instances(ids)


# -- the work of the jobs (app.tasks calls these) ---------------------------------------

def submit_sync(instance: WorkflowInstance, *, callback_url: str | None = None,
                created_by: int | None = None) -> JobRecord:
    return submit("sync_instance", target_type="instance", target_id=instance.id, created_by=created_by,
                  payload={"callback_url": callback_url})


def sync_from_shar(instance_id: str, callback_url: str | None) -> None:
    """Read one instance's status and variables from SHAR (the sync job)."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None:
        return  # cleaned up since the sync was queued
    apply_shar_state(instance, callback_url=callback_url)


def sync_failed(instance_id: str, error: str, callback_url: str | None) -> None:
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is not None:
        fire(instance_sync_failed, instance, error_message=error, callback_url=callback_url)


def daily_cleanup(days: int, statuses: Sequence[str]) -> int:
    """The scheduled cleanup (the daily 02:00 run): the same deletion, by the settings."""
    return _delete_instances(_ended_before(days, statuses))


def _ended_before(days: int, statuses: Sequence[str]) -> list[str]:
    cutoff = utcnow() - timedelta(days=days)
    return list(db.session.scalars(select(WorkflowInstance.id).where(
        WorkflowInstance.status.in_(tuple(statuses)),
        WorkflowInstance.completed_at.is_not(None), WorkflowInstance.completed_at < cutoff)))


def _delete_instances(ids: list[str]) -> int:
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(delete(ActivityEvent).where(ActivityEvent.target_type == "instance",
                                                       ActivityEvent.target_id.in_(chunk)))
        db.session.execute(delete(WorkflowInstance).where(WorkflowInstance.id.in_(chunk)))
    db.session.commit()
    return len(ids)


def periodic_sync(lease_seconds: float) -> dict[str, object]:
    """Queue syncs of all running instances, unless another periodic sync is under way."""
    if not leases.acquire(PERIODIC_SYNC, lease_seconds):
        logger.info("periodic sync skipped: another one is running")
        return {"skipped": True}
    try:
        count = sync_all_running()
    except Exception as exc:
        leases.release(PERIODIC_SYNC, f"failed: {exc}")
        raise
    leases.release(PERIODIC_SYNC, f"queued {count} syncs")
    return {"queued": count}


def sync_all_running() -> int:
    """Queue a sync of every running instance, in batches; returns how many were queued."""
    ids = list(db.session.scalars(
        select(WorkflowInstance.id).where(WorkflowInstance.status == InstanceStatus.RUNNING)
        .order_by(WorkflowInstance.last_synced_at.asc().nulls_first())
    ))
    settings = current_settings()
    return batch_sync(ids, queue=settings.shar_sync_queue, delay=settings.shar_sync_batch_delay)


def batch_sync(instance_ids: Sequence[str], *, queue: str, delay: float,
               batch_size: int | None = None) -> int:
    """Queue syncs of `instance_ids` on `queue`: recorded with one INSERT per batch and handed to
    Huey with one round trip per batch, so 20,000 instances fan out in seconds.

    The sync workers pace the work by how fast SHAR answers; SHAR_SYNC_BATCH_DELAY, when set,
    spaces the batches out further. Instances that already have a sync waiting are skipped,
    so a slow SHAR never piles up duplicate work. Returns how many syncs were queued.
    """
    settings = current_settings()
    batch_size = batch_size or settings.shar_sync_batch_size
    pending = set(db.session.scalars(
        select(JobRecord.target_id).where(JobRecord.job_type == "sync_instance",
                                          JobRecord.state.in_(OPEN_JOB_STATES))
    ))
    todo = [i for i in dict.fromkeys(instance_ids) if i not in pending]
    spec = spec_for("sync_instance")
    attempts = spec.attempts(settings)
    queued = 0
    for index in range(0, len(todo), batch_size):
        wait = (index // batch_size) * delay * settings.time_scale
        now = utcnow()
        rows = [{"job_type": "sync_instance", "queue": queue, "target_type": "instance", "target_id": instance_id,
                 "state": "queued", "attempts": 0, "max_attempts": attempts, "payload": {}, "created_at": now,
                 "updated_at": now, "next_attempt_at": now + timedelta(seconds=wait) if wait else None}
                for instance_id in todo[index:index + batch_size]]
        ids = list(db.session.scalars(insert(JobRecord).returning(JobRecord.id), rows))
        db.session.commit()  # recorded before any is queued: a lost hand-over is the reconciler's
        if wait:
            for job_id in ids:  # paced batches are rare (an operator's setting): one message each
                queued += bool(enqueue(db.session.get(JobRecord, job_id), delay=wait))
        else:
            queued += enqueue_many("sync_instance", queue, ids)
    return queued


def apply_shar_state(instance: WorkflowInstance, *, callback_url: str | None = None) -> str:
    """Read the instance from SHAR and apply what changed; returns the new status."""
    previous = instance.status
    if previous != InstanceStatus.RUNNING or not instance.shar_instance_id:
        fire(instance_synced, instance, previous_status=previous, new_status=previous, callback_url=callback_url)
        return previous
    remote = current_client().get_instance(instance.shar_instance_id)
    now = utcnow()
    activities = list(remote.current_activities) if remote.current_activities is not None \
        else list(instance.current_activities or ())
    variables = untagged(remote.variables)
    shar_created_at = instance.shar_created_at or parse_shar_time(remote.created_at)
    if remote.status == "completed":
        if change_status(instance, InstanceStatus.COMPLETED, variables=variables,
                         last_synced_at=now, completed_at=now, shar_created_at=shar_created_at,
                         shar_completed_at=parse_shar_time(remote.completed_at)):
            fire(instance_completed, instance)
    elif remote.status == "failed":
        error = remote.error or "SHAR reports the instance failed"
        # Where it failed: the activities SHAR names, else (SHAR may clear them when an instance
        # fails) the ones it was last seen at, so the diagram can count the failure there.
        activities = activities or list(instance.current_activities or ())
        if change_status(instance, InstanceStatus.FAILED, variables=variables, current_activities=activities,
                         last_synced_at=now, error=error, completed_at=now, shar_created_at=shar_created_at,
                         shar_completed_at=parse_shar_time(remote.completed_at)):
            fire(instance_failed, instance, error_message=error)
    else:
        _record_progress(instance, variables, activities, now, shar_created_at)
    fire(instance_synced, instance, previous_status=previous, new_status=instance.status,
         callback_url=callback_url)
    return instance.status


def _record_progress(instance: WorkflowInstance, variables: dict, activities: list[str], now: datetime,
                     shar_created_at: datetime | None = None) -> None:
    values: dict[str, object] = {"variables": variables or instance.variables, "last_synced_at": now,
                                 "current_activities": activities, "shar_created_at": shar_created_at}
    if activities != list(instance.current_activities or ()):
        values["progressed_at"] = values["updated_at"] = now
    # Only while still running: a racing sync may have completed it meanwhile.
    result = db.session.execute(update(WorkflowInstance)
                                .where(WorkflowInstance.id == instance.id,
                                       WorkflowInstance.status == InstanceStatus.RUNNING)
                                .values(**values).execution_options(synchronize_session=False))
    commit_keeping_loaded()
    if result.rowcount == 1:  # what was written is what the row holds: no read back
        for name, value in values.items():
            set_committed_value(instance, name, value)
        if "updated_at" not in values:
            db.session.expire(instance, ["updated_at"])  # set by the column's onupdate, in the database
    else:
        db.session.refresh(instance)
