"""The work of a bulk operation's job (app.tasks calls run_bulk and bulk_failed): walks the
operation's snapshot, running the instance operation of each (request_sync, cancel_instance, the
retry of a failed launch: bulk.ACTIONS) as the requester, so every rule of that operation holds;
each instance is counted in its own commit (syncs: checked by the same rules a chunk at a time,
and queued in batches); past its time budget, or stopped by a passing fault after some progress,
it hands the rest to a new job, so a job that keeps going never runs out of attempts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.core.config import current_settings
from app.core.errors import SharboardError
from app.core.extensions import db
from app.core.text import clip
from app.jobs import leases
from app.jobs.attempt_ends import RETRYABLE
from app.jobs.dispatch import submit
from app.jobs.errors import RetryableJobError
from app.jobs.specs import spec_for
from app.models import BulkOperation, JobRecord, User
from app.models._base import utcnow
from app.services.actors import Actor, SystemActor
from app.services.bulk import ACTIONS, FINISHED, Action
from app.services.rows import required

logger = logging.getLogger("sharboard.bulk")

MAX_ERRORS = 20  # failures kept on the operation, with their reasons
CHUNK = 500  # instances checked and queued together by an action that takes many at once


def run_bulk(operation_id: int, lease_seconds: float, *, budget_seconds: float | None = None) -> JobRecord | None:
    """Walk the operation's snapshot from where it stands (done + failed, each counted in its
    instance's commit: a retried attempt goes on at the first instance not run), running the
    instance operation of each as the requester. Returns the job it handed the rest to, if any.

    One instance refused (gone, changed meanwhile, no longer theirs to change) is counted failed
    with its reason, never the whole job. Past `budget_seconds` (kept below the job's time limit),
    the rest goes on in a new job, so no attempt runs into the limit. What the job runner retries
    (the database, SHAR or the queue away, a time limit) stops the attempt: when it got further
    than the last one, the rest goes on in a new job after the spec's first wait, so a job that
    keeps making progress never spends its attempts; otherwise the runner's next attempt goes on.
    A lease keeps a second worker (a re-queued attempt) from walking the same operation at once."""
    lease = f"bulk_operation:{operation_id}"
    if not leases.acquire(lease, lease_seconds):
        raise RetryableJobError(f"bulk operation {operation_id} is being run by another worker")
    reached = _reached(operation_id)
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    try:
        finished = _walk(operation_id, deadline)
    except RETRYABLE as exc:
        db.session.rollback()
        if _reached(operation_id) == reached:
            leases.release(lease, f"stopped: {exc}")
            raise
        leases.release(lease, f"handed over after: {exc}")
        wait = spec_for("bulk_operation").wait_before(2, time_scale=current_settings().time_scale)
        return _hand_over(operation_id, delay=wait, why=f"stopped by {type(exc).__name__}: {exc}")
    except Exception as exc:
        db.session.rollback()
        leases.release(lease, f"stopped: {exc}")
        raise
    if finished:
        leases.release(lease, "finished")
        return None
    leases.release(lease, "handed over: out of time")
    return _hand_over(operation_id, delay=0.0, why="out of time")


def _reached(operation_id: int) -> int:
    """How many instances of the operation have been run (done + failed), as committed."""
    operation = required(BulkOperation, operation_id, "bulk operation")
    db.session.refresh(operation, ["done", "failed"])
    return operation.done + operation.failed


def _hand_over(operation_id: int, *, delay: float, why: str) -> JobRecord:
    """A new job for the rest of the operation, with attempts of its own."""
    operation = required(BulkOperation, operation_id, "bulk operation")
    logger.info(
        "bulk operation %s: %s; the rest goes on in a new job",
        operation_id,
        why,
        extra={"left": operation.total - operation.done - operation.failed},
    )
    return submit(
        "bulk_operation",
        target_type="bulk_operation",
        target_id=operation_id,
        created_by=operation.requested_by,
        delay=delay,
    )


def bulk_failed(operation_id: int, error: str) -> None:
    """The job failed for good: what it did not reach is counted failed, and the operation ends."""
    operation = db.session.get(BulkOperation, operation_id)
    if operation is None or operation.state == FINISHED:
        return
    left = operation.total - operation.done - operation.failed
    if left:
        _record(
            operation,
            0,
            left,
            [{"instance_id": None, "error": clip(f"the job stopped before {left} instances: {error}", 500)}],
        )
    _finish(operation)


def _walk(operation_id: int, deadline: float | None) -> bool:
    """Run the rest of the operation; False when `deadline` (time.monotonic()) passed first, after
    one chunk or instance at least, so every attempt gets further."""
    operation = required(BulkOperation, operation_id, "bulk operation")
    if operation.state == FINISHED:
        return True
    ids, action, actor = list(operation.instance_ids), ACTIONS[operation.action], _requester(operation)
    if actor is None:
        bulk_failed(operation_id, "the requesting user no longer exists or is deactivated")
        return True
    first = operation.done + operation.failed
    if action.check_many is not None:
        for start in range(first, len(ids), CHUNK):
            if start > first and _past(deadline):
                return False
            _many(operation, action, ids[start : start + CHUNK], actor)
    else:
        for index in range(first, len(ids)):
            if index > first and _past(deadline):
                return False
            _one(operation, action, ids[index], actor)
    _finish(operation)
    return True


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _many(operation: BulkOperation, action: Action, instance_ids: list[str], actor: Actor) -> None:
    """Check a chunk in one read, count it, and queue what it allows: the counts commit with the
    queued jobs, so a retried attempt goes on after the chunk and never queues it twice."""
    assert action.check_many is not None and action.queue_many is not None
    try:
        allowed, refused = action.check_many(instance_ids, actor=actor)
    except SharboardError as exc:  # a rule of the whole chunk (the requester's role)
        allowed, refused = [], {instance_id: exc.message for instance_id in instance_ids}
    _record(
        operation,
        len(allowed),
        len(refused),
        [{"instance_id": i, "error": clip(reason, 500)} for i, reason in refused.items()],
    )
    action.queue_many(allowed)
    db.session.commit()  # the counts, when nothing was queued


def _one(operation: BulkOperation, action: Action, instance_id: str, actor: Actor) -> None:
    """Run the action on one instance, counted done in the instance operation's own commit (so a
    retried attempt never runs an instance twice), or failed with its reason."""
    operation.done += 1
    try:
        action.run(instance_id, actor, operation.id)
        db.session.commit()  # the count, should the operation not have committed it
    except RETRYABLE:
        raise  # not this instance's fault: the attempt stops, and the runner's next one goes on from here
    except Exception as exc:  # one instance never fails the operation
        db.session.rollback()
        if not isinstance(exc, SharboardError):
            logger.exception("bulk operation %s: instance %s failed", operation.id, instance_id)
        reason = exc.message if isinstance(exc, SharboardError) else f"{type(exc).__name__}: {exc}"
        _record(operation, 0, 1, [{"instance_id": instance_id, "error": clip(reason, 500)}])
        db.session.commit()


def _record(operation: BulkOperation, done: int, failed: int, failures: list[dict[str, Any]]) -> None:
    """Count instances on the operation; the caller commits."""
    operation.done += done
    operation.failed += failed
    if failures and len(operation.errors) < MAX_ERRORS:
        operation.errors = [*operation.errors, *failures][:MAX_ERRORS]


def _finish(operation: BulkOperation) -> None:
    operation.state, operation.finished_at = FINISHED, utcnow()
    db.session.commit()


def _requester(operation: BulkOperation) -> Actor | None:
    """Who the operation acts as: the user who started it while still active, or the system actor."""
    if operation.requested_by is None:
        name = operation.requested_by_name
        return SystemActor(name.removeprefix("system:")) if name.startswith("system:") else None
    user = db.session.get(User, operation.requested_by)
    return user if user is not None and user.active else None
