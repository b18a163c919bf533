"""Reading instance state back from SHAR: one instance (queued or now), every running one
in batches, the periodic sync. The cleanup of old instances is app.services.cleanup."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from app.core.config import current_settings
from app.core.errors import Conflict, ServiceUnavailable, UpstreamFailed
from app.core.extensions import db
from app.core.text import clip, storable
from app.jobs import leases, outage
from app.jobs.attempt_ends import RETRYABLE
from app.jobs.dispatch import submit, submit_many
from app.jobs.specs import spec_for
from app.lifecycle.changes import record_activity
from app.lifecycle.events import (
    fire,
    instance_sync_failed,
)
from app.lifecycle.states import OPEN_JOB_STATES, InstanceStatus
from app.models import JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.access import find_instance, require_admin, require_writer, visible_instances
from app.services.actors import Actor
from app.services.audit import audit
from app.services.callbacks import check_callback
from app.services.sync_state import BatchProgress, apply_shar_state
from app.shar import SharError, SharUnavailable

logger = logging.getLogger("sharboard.shar.sync")
PERIODIC_SYNC = "periodic_sync"
SYNC_ONE = "sync_instance"  # one instance, asked for by someone (with a callback, perhaps)
SYNC_BATCH = "sync_instances"  # a batch of the periodic or an operator's sync
MIN_BATCHES = 16  # as many batches at least (instances allowing), for the sync workers to share


@dataclass(frozen=True)
class SyncBatch:
    status: str
    candidates: int
    queued: int


# -- operations ------------------------------------------------------------------------


def request_sync(
    instance_id: str, *, actor: Actor, callback_url: str | None = None, bulk: int | None = None
) -> JobRecord:
    """Queue a sync of one instance (a callback URL gets the outcome, whatever the status). As
    part of bulk operation `bulk`, its one audit entry covers this."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    callback_url = check_callback(callback_url)
    if instance.status != InstanceStatus.RUNNING and not callback_url:
        raise Conflict(_not_running(instance.id, instance.status))
    if bulk is None:
        audit(actor, "instance.sync", "instance", instance.id)
    return submit_sync(instance, callback_url=callback_url, created_by=actor.id)


def syncable(instance_ids: Sequence[str], *, actor: Actor) -> tuple[list[str], dict[str, str]]:
    """Of `instance_ids`, those `actor` may have synced now (visible to them, running), read in one
    query, and for each other one the reason request_sync would refuse it with (a bulk
    operation's check before it queues them with batch_sync)."""
    require_writer(actor)
    statuses = dict(
        db.session.execute(
            visible_instances(actor)
            .with_only_columns(WorkflowInstance.id, WorkflowInstance.status)
            .where(WorkflowInstance.id.in_(set(instance_ids)))
        ).all()
    )
    allowed: list[str] = []
    refused: dict[str, str] = {}
    for instance_id in dict.fromkeys(instance_ids):
        status = statuses.get(instance_id)
        if status is None:
            refused[instance_id] = f"no instance {instance_id}"  # as find_instance: gone, or not theirs
        elif status != InstanceStatus.RUNNING:
            refused[instance_id] = _not_running(instance_id, status)
        else:
            allowed.append(instance_id)
    return allowed, refused


def _not_running(instance_id: str, status: str) -> str:
    return f"instance {instance_id} is {status}; only running instances are synced"


def sync_instance_now(instance_id: str, *, actor: Actor, callback_url: str | None = None) -> WorkflowInstance:
    """Read the instance from SHAR here and now (the blocking `async=false` variant)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    callback_url = check_callback(callback_url)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_not_running(instance.id, instance.status))
    audit(actor, "instance.sync", "instance", instance.id, after={"blocking": True})
    db.session.commit()
    try:
        apply_shar_state(instance, callback_url=callback_url)
    except SharUnavailable as exc:
        raise ServiceUnavailable(
            f"SHAR is unreachable: {exc}; nothing was changed, try again shortly",
            retry_after=max(int(current_settings().outage_probe_interval), 1),
        ) from exc
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
    return SyncBatch(status, len(ids), batch_sync(ids))


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


# -- the work of the jobs (app.tasks calls these) ---------------------------------------


def submit_sync(
    instance: WorkflowInstance, *, callback_url: str | None = None, created_by: int | None = None
) -> JobRecord:
    return submit(
        SYNC_ONE,
        target_type="instance",
        target_id=instance.id,
        created_by=created_by,
        payload={"callback_url": callback_url},
    )


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


def periodic_sync(lease_seconds: float) -> dict[str, object]:
    """Queue syncs of all running instances, unless another periodic sync is under way or SHAR is
    unreachable (its batches would only be held; the next period after SHAR answers reads them all)."""
    if (down := outage.current()) is not None:
        logger.info("periodic sync skipped: SHAR unreachable")
        return {"skipped": f"SHAR unreachable since {down.since:%H:%M:%S} UTC"}
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
    ids = list(
        db.session.scalars(
            select(WorkflowInstance.id)
            .where(WorkflowInstance.status == InstanceStatus.RUNNING)
            .order_by(WorkflowInstance.last_synced_at.asc().nulls_first())
        )
    )
    return batch_sync(ids)


def batch_sync(
    instance_ids: Sequence[str], *, queue: str | None = None, delay: float | None = None, batch_size: int | None = None
) -> int:
    """Queue syncs of `instance_ids` on `queue` (default SHAR_SYNC_QUEUE), SHAR_SYNC_BATCH_SIZE
    instances a job, and return how many instances were queued (commits whatever the caller added
    to the session with the jobs, as submit).

    One job a batch rather than one an instance: a job's bookkeeping (its claim, attempt, success
    and their commits) cost more than the SHAR call it wrapped, so the periodic sync of 20,000
    instances ran at half the rate SHAR answers. Instances that already have a sync waiting (their
    own, or in a waiting batch) are skipped, so a slow SHAR never piles up duplicate work. The sync
    workers pace the batches by how fast SHAR answers; SHAR_SYNC_BATCH_DELAY, when set, spaces
    them out further.
    """
    settings = current_settings()
    waiting = _sync_waiting()
    todo = [i for i in dict.fromkeys(instance_ids) if i not in waiting]
    return _queue_batches(
        todo,
        queue=queue or settings.shar_sync_queue,
        delay=settings.shar_sync_batch_delay if delay is None else delay,
        batch_size=batch_size,
    )


def _queue_batches(
    instance_ids: Sequence[str], *, queue: str, delay: float = 0.0, batch_size: int | None = None, start_in: float = 0.0
) -> int:
    """Record and queue a sync_instances job per batch (dispatch.submit_many: 20,000 instances fan
    out in well under a second); returns how many instances were handed to Huey. The first batch
    starts in `start_in` seconds (already scaled), each next one `delay` later."""
    settings = current_settings()
    # Smaller batches when there are few instances, so every sync worker gets a share.
    batch_size = batch_size or min(settings.shar_sync_batch_size, max(1, -(-len(instance_ids) // MIN_BATCHES)))
    batches = [list(instance_ids[i : i + batch_size]) for i in range(0, len(instance_ids), batch_size)]
    handed = submit_many(
        SYNC_BATCH,
        [{"instance_ids": batch} for batch in batches],
        target_type="instances",
        target_ids=[len(batch) for batch in batches],
        queue=queue,
        delays=[start_in + n * delay * settings.time_scale for n in range(len(batches))],
    )
    return sum(len(batch) for batch, went in zip(batches, handed, strict=True) if went)


def _sync_waiting() -> set[str]:
    """The instances a sync already waits for: a single sync's target, or one of a waiting batch."""
    waiting: set[str] = set()
    for job_type, target_id, payload in db.session.execute(
        select(JobRecord.job_type, JobRecord.target_id, JobRecord.payload).where(
            JobRecord.job_type.in_((SYNC_ONE, SYNC_BATCH)), JobRecord.state.in_(OPEN_JOB_STATES)
        )
    ):
        waiting.update((payload or {}).get("instance_ids", ()) if job_type == SYNC_BATCH else (target_id,))
    return waiting


def sync_batch(instance_ids: Sequence[str], *, since: datetime, budget_seconds: float, queue: str) -> dict[str, object]:
    """Sync each instance of a batch that still runs and was not synced since `since` (the batch's
    creation), so an attempt after a retry or a killed worker goes on where the last one stopped;
    returns how many were synced and why each other one failed.

    An error of one instance (SHAR refusing it, the database refusing its write) fails that
    instance's sync alone: its write is rolled back, its timeline says why, its listeners are told,
    and the others sync. SHAR unreachable or overloaded (or the database gone) stops the batch: at
    once when no instance was done yet (the job retries after its wait); after some progress, the
    rest goes on in a new batch job after that wait, so a batch that keeps making progress never
    runs out of attempts. When the batch takes longer than `budget_seconds` (a slow SHAR), the
    rest goes on in a new batch job too, so no attempt runs into its time limit.
    """
    rows = {
        row.id: row
        for row in db.session.scalars(
            select(WorkflowInstance).where(
                WorkflowInstance.id.in_(set(instance_ids)),
                WorkflowInstance.status == InstanceStatus.RUNNING,
                or_(WorkflowInstance.last_synced_at.is_(None), WorkflowInstance.last_synced_at < since),
            )
        )
    }
    todo = [rows[i] for i in dict.fromkeys(instance_ids) if i in rows]
    ids = [i.id for i in todo]  # read now: a rollback expires the rows
    failed: dict[str, str] = {}
    progress = BatchProgress()
    started = time.monotonic()
    for index, instance in enumerate(todo):
        if index and time.monotonic() - started > budget_seconds:  # one instance at least: progress
            _hand_over(ids[index:], progress, failed, queue=queue, why="out of time")
            break
        try:
            apply_shar_state(instance, batch=progress)
        except RETRYABLE as exc:  # not this instance's fault: the next ones would fail alike
            if not index:
                raise
            db.session.rollback()
            if isinstance(exc, SharUnavailable):  # an outage: the rest is held as soon as a worker takes it
                outage.opened(str(exc))
                db.session.commit()
            wait = spec_for(SYNC_BATCH).wait_before(2, time_scale=current_settings().time_scale)
            _hand_over(ids[index:], progress, failed, queue=queue, why="stopped by a retryable error", wait=wait)
            break
        except Exception as exc:  # noqa: BLE001 - this instance's error: it fails alone, the batch goes on
            db.session.rollback()  # its write, if any: the session stays usable for the next one
            failed[instance.id] = _instance_sync_failed(instance, exc)
        if progress.due():
            _write(progress, failed)
    else:
        _write(progress, failed)
    return {"synced": len(todo) - len(failed), "failed": failed} if failed else {"synced": len(todo)}


def _write(progress: BatchProgress, failed: dict[str, str]) -> None:
    """Write the batch's progress so far; an instance whose write the database refused fails alone."""
    for instance, exc in progress.write():
        failed[instance.id] = _instance_sync_failed(instance, exc)


def _hand_over(
    left: list[str], progress: BatchProgress, failed: dict[str, str], *, queue: str, why: str, wait: float = 0.0
) -> None:
    _write(progress, failed)  # first: an error writing it leaves the whole rest to this job's retry
    logger.info(f"sync batch {why}; the rest goes on in a new batch", extra={"left": len(left), "wait": wait})
    _queue_batches(left, queue=queue, start_in=wait)


def _instance_sync_failed(instance: WorkflowInstance, exc: Exception) -> str:
    """Record on the instance's timeline why its sync failed, tell its listeners; returns the reason."""
    if isinstance(exc, SharError):
        reason = f"SHAR refused: {exc}"
    else:  # a database refusal quotes the statement and its values: its first line says why
        logger.error("syncing one instance of a batch failed", extra={"instance_id": instance.id}, exc_info=exc)
        reason = f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}"
    reason = clip(storable(reason))  # type: ignore[arg-type]
    record_activity(instance, "sync_failed", f"sync failed: {reason}", error=reason)
    db.session.commit()
    fire(instance_sync_failed, instance, error_message=reason, callback_url=None)
    return reason


def sync_batch_failed(instance_ids: Sequence[str], *, since: datetime, error: str) -> None:
    """A batch failed for good: tell the listeners of each running instance it did not sync."""
    for instance in db.session.scalars(
        select(WorkflowInstance).where(
            WorkflowInstance.id.in_(tuple(instance_ids)),
            WorkflowInstance.status == InstanceStatus.RUNNING,
            or_(WorkflowInstance.last_synced_at.is_(None), WorkflowInstance.last_synced_at < since),
        )
    ):
        fire(instance_sync_failed, instance, error_message=error, callback_url=None)
