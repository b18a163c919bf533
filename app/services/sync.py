"""Reading instance state back from SHAR: one instance, all running ones in batches, the
periodic sync, and the cleanup of old instances."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from app.config import current_settings
from app.errors import Conflict
from app.events import (fire, instance_completed, instance_failed, instance_sync_failed,
                        instance_synced)
from app.extensions import db
from app.jobs.dispatch import enqueue
from app.jobs.specs import job, spec_for
from app.models import ActivityEvent, JobRecord, PeriodicRun, WorkflowInstance
from app.models._base import utcnow
from app.services.lookups import get_instance
from app.shar import current_client
from app.status import change_status

logger = logging.getLogger("sharboard.shar.sync")
OPEN_JOB_STATES = ("queued", "running", "retrying")


def queue_sync(instance_id: str, *, callback_url: str | None = None, created_by: int | None = None) -> JobRecord:
    """Queue a sync of one instance (a callback URL gets the outcome)."""
    from app.jobs.dispatch import submit
    from app.services.workflows import check_callback

    instance = get_instance(instance_id)
    if instance.status not in ("running",) and not callback_url:
        raise Conflict(f"instance {instance.id} is {instance.status}; only running instances are synced")
    return submit("sync_instance", target_type="instance", target_id=instance.id, created_by=created_by,
                  payload={"callback_url": check_callback(callback_url)})


def sync_all_running() -> int:
    """Queue a sync of every running instance, in batches; returns how many were queued."""
    ids = list(db.session.scalars(
        select(WorkflowInstance.id).where(WorkflowInstance.status == "running")
        .order_by(WorkflowInstance.last_synced_at.asc().nulls_first())
    ))
    settings = current_settings()
    return batch_sync(ids, queue=settings.shar_sync_queue, delay=settings.shar_sync_batch_delay)


def batch_sync(instance_ids: Sequence[str], *, queue: str, delay: float,
               batch_size: int | None = None) -> int:
    """Queue syncs of `instance_ids` on `queue`, batch after batch `delay` seconds apart.

    Instances that already have a sync waiting are skipped, so a slow SHAR never
    piles up duplicate work. Returns how many syncs were queued.
    """
    settings = current_settings()
    batch_size = batch_size or settings.shar_sync_batch_size
    pending = set(db.session.scalars(
        select(JobRecord.target_id).where(JobRecord.job_type == "sync_instance",
                                          JobRecord.state.in_(OPEN_JOB_STATES))
    ))
    todo = [i for i in dict.fromkeys(instance_ids) if i not in pending]
    spec = spec_for("sync_instance")
    now = utcnow()
    jobs: list[tuple[JobRecord, float]] = []
    for index in range(0, len(todo), batch_size):
        wait = (index // batch_size) * delay * settings.time_scale
        for instance_id in todo[index:index + batch_size]:
            record = JobRecord(job_type="sync_instance", queue=queue, target_type="instance",
                               target_id=instance_id, max_attempts=spec.max_attempts, payload={},
                               next_attempt_at=now + timedelta(seconds=wait) if wait else None)
            jobs.append((record, wait))
    db.session.add_all(record for record, _ in jobs)
    db.session.commit()  # all recorded in one transaction before any is queued
    for record, wait in jobs:
        enqueue(record, delay=wait)
    return len(jobs)


def sync_now(instance: WorkflowInstance, *, callback_url: str | None = None) -> str:
    """Read the instance from SHAR and apply what changed; returns the new status."""
    previous = instance.status
    if previous != "running" or not instance.shar_instance_id:
        fire(instance_synced, instance, previous_status=previous, new_status=previous, callback_url=callback_url)
        return previous
    remote = current_client().get_instance(instance.shar_instance_id)
    now = utcnow()
    activities = list(remote.current_activities) if remote.current_activities is not None \
        else list(instance.current_activities or ())
    if remote.status == "completed":
        completed_at = _parse_time(remote.completed_at) or now
        if change_status(instance, "completed", variables=remote.variables, current_activities=[],
                         last_synced_at=now, completed_at=completed_at):
            fire(instance_completed, instance)
    elif remote.status == "failed":
        error = remote.error or "SHAR reports the instance failed"
        if change_status(instance, "failed", variables=remote.variables, current_activities=activities,
                         last_synced_at=now, error=error):
            fire(instance_failed, instance, error_message=error)
    else:
        _record_progress(instance, remote.variables, activities, now)
    fire(instance_synced, instance, previous_status=previous, new_status=instance.status,
         callback_url=callback_url)
    return instance.status


def _record_progress(instance: WorkflowInstance, variables: dict, activities: list[str], now: datetime) -> None:
    values: dict[str, object] = {"variables": variables or instance.variables, "last_synced_at": now,
                                 "current_activities": activities}
    if activities != list(instance.current_activities or ()):
        values["progressed_at"] = values["updated_at"] = now
    # Only while still running: a racing sync may have completed it meanwhile.
    db.session.execute(update(WorkflowInstance)
                       .where(WorkflowInstance.id == instance.id, WorkflowInstance.status == "running")
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(instance)


def _parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time from SHAR as naive UTC; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


# -- periodic work -----------------------------------------------------------------------

def acquire_lease(name: str, seconds: float) -> bool:
    """Take the named lease for `seconds` unless someone holds it: never two runs at once."""
    now = utcnow()
    if db.session.get(PeriodicRun, name) is None:
        db.session.add(PeriodicRun(name=name))
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
    result = db.session.execute(
        update(PeriodicRun)
        .where(PeriodicRun.name == name,
               (PeriodicRun.lease_until.is_(None)) | (PeriodicRun.lease_until < now))
        .values(lease_until=now + timedelta(seconds=seconds), last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def release_lease(name: str, result: str) -> None:
    db.session.execute(update(PeriodicRun).where(PeriodicRun.name == name)
                       .values(lease_until=None, last_finished_at=utcnow(), last_result=result)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def cleanup_instances(*, days: int, statuses: Sequence[str], dry_run: bool = False) -> int:
    """Delete instances that ended more than `days` ago in one of `statuses`; returns the count."""
    cutoff = utcnow() - timedelta(days=days)
    ids = list(db.session.scalars(select(WorkflowInstance.id).where(
        WorkflowInstance.status.in_(tuple(statuses)),
        WorkflowInstance.completed_at.is_not(None), WorkflowInstance.completed_at < cutoff)))
    if dry_run or not ids:
        return len(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(delete(ActivityEvent).where(ActivityEvent.subject_type == "instance",
                                                       ActivityEvent.subject_id.in_(chunk)))
        db.session.execute(delete(WorkflowInstance).where(WorkflowInstance.id.in_(chunk)))
    db.session.commit()
    return len(ids)


# -- jobs ------------------------------------------------------------------------------

def _sync_failed(job_record: JobRecord, exc: BaseException) -> None:
    instance = db.session.get(WorkflowInstance, job_record.target_id)
    if instance is not None:
        fire(instance_sync_failed, instance, error_message=str(exc),
             callback_url=job_record.payload.get("callback_url"))


@job("sync_instance", queue="shar_sync_queue", attempts=2, waits=(5, 15), timeout=120, on_failure=_sync_failed)
def sync_from_shar(job_record: JobRecord) -> None:
    """Read one instance's status and variables from SHAR."""
    instance = db.session.get(WorkflowInstance, job_record.target_id)
    if instance is None:
        return  # cleaned up since the sync was queued
    sync_now(instance, callback_url=job_record.payload.get("callback_url"))


@job("periodic_sync", queue="shar_sync_queue", attempts=1, timeout=120)
def periodic_sync(job_record: JobRecord) -> None:
    """Queue syncs of all running instances, unless another periodic sync is under way."""
    spec = spec_for("periodic_sync")
    if not acquire_lease("periodic_sync", spec.effective_timeout(current_settings())):
        logger.info("periodic sync skipped: another one is running")
        job_record.payload = {**job_record.payload, "skipped": True}
        return
    try:
        count = sync_all_running()
    except Exception as exc:
        release_lease("periodic_sync", f"failed: {exc}")
        raise
    release_lease("periodic_sync", f"queued {count} syncs")
    job_record.payload = {**job_record.payload, "queued": count}


@job("cleanup", queue="shar_sync_queue", attempts=1, timeout=300)
def cleanup(job_record: JobRecord) -> None:
    """Delete old ended instances (the daily 02:00 run)."""
    settings = current_settings()
    days = int(job_record.payload.get("days", settings.cleanup_days))
    statuses = job_record.payload.get("statuses") or list(settings.cleanup_statuses)
    job_record.payload = {**job_record.payload, "deleted": cleanup_instances(days=days, statuses=statuses)}
