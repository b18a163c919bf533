"""Bulk actions on instances: sync, cancel or retry the instances a filter selects, as one audited
operation that runs as one job.

    preview_bulk   how many of the filtered instances the action applies to, how many it skips,
                   and the newest few; nothing is stored
    start_bulk     the operation (with a snapshot of the ids it covers, at most MAX_INSTANCES),
                   its one audit entry and its job, in one transaction
    get_bulk       its progress, for its requester and admins
    run_bulk       the job: walks the snapshot, running the instance operation of each
                   (request_sync, cancel_instance, the retry of a failed launch) as the requester,
                   so every rule of that operation holds; each instance is counted in its own commit
                   (syncs: checked by the same rules a chunk at a time, and queued in batches)

A filter only ever covers the instances its requester may see (instances.filtered_instances).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func

from app.errors import Conflict, InvalidInput, PermissionDenied, SharboardError
from app.extensions import db
from app.jobs import leases
from app.jobs.dispatch import submit
from app.jobs.errors import RetryableJobError
from app.jobs.runner import RETRYABLE
from app.models import BulkOperation, JobRecord, User, WorkflowInstance
from app.models._base import utcnow
from app.services.access import find_bulk_operation, require_admin, require_writer
from app.services.actors import Actor, SystemActor, actor_label
from app.services.audit import audit
from app.services.failed_jobs import failed_launch_job, requeue_failed_job
from app.services.instances import InstanceFilter, cancel_instance, filtered_instances
from app.services.rows import required
from app.services.sync import batch_sync, request_sync, syncable
from app.states import UNDER_WAY_INSTANCE, InstanceStatus
from app.text import clip

logger = logging.getLogger("sharboard.bulk")

MAX_INSTANCES = 10_000  # one operation covers at most this many; above it, narrow the filter
SAMPLE_SIZE = 10
MAX_ERRORS = 20  # failures kept on the operation, with their reasons
CHUNK = 500  # instances checked and queued together by an action that takes many at once
RUNNING, FINISHED = "running", "finished"
FILTER_FIELDS = ("status", "workflow", "version", "activity", "var", "older_than", "mine")


@dataclass(frozen=True)
class Action:
    applies_to: str  # what it applies to, as the preview says it
    verb: str
    guard: Callable[[Actor], None]  # the role the instance operation needs, checked before anything runs
    applies: Callable[[], Any]  # the SQL condition of the instances it applies to
    run: Callable[[str, Actor, int], object]  # the instance operation, as part of bulk operation N
    # Instead of `run`, for a chunk at once: check the chunk (the allowed ids, and a reason for each
    # other one), then queue the allowed ones, committing whatever the session holds with them.
    check_many: Callable[..., tuple[list[str], dict[str, str]]] | None = None  # (ids, actor=)
    queue_many: Callable[[list[str]], object] | None = None


def _sync(instance_id: str, actor: Actor, bulk: int) -> object:
    return request_sync(instance_id, actor=actor, bulk=bulk)


def _cancel(instance_id: str, actor: Actor, bulk: int) -> object:
    return cancel_instance(instance_id, actor=actor, bulk=bulk)


def _retry(instance_id: str, actor: Actor, bulk: int) -> object:
    require_admin(actor)  # as retry_failed_job, whose audit entry the operation's one entry replaces
    return requeue_failed_job(failed_launch_job(instance_id, actor=actor))


ACTIONS: dict[str, Action] = {
    # Syncs are queued in batches (a job per SHAR_SYNC_BATCH_SIZE instances, as the periodic sync),
    # not a job per instance: 10,000 instances make a few hundred jobs.
    "sync": Action("running instances", "synced", require_writer,
                   lambda: WorkflowInstance.status == InstanceStatus.RUNNING, _sync,
                   check_many=syncable, queue_many=batch_sync),
    "cancel": Action("launching or running instances", "cancelled", require_writer,
                     lambda: WorkflowInstance.status.in_(UNDER_WAY_INSTANCE), _cancel),
    # A launch that failed before reaching SHAR is retried by its launch job (admins, as any failed
    # job); an instance that failed in SHAR cannot be run again.
    "retry": Action("failed launches (instances that failed before reaching SHAR)", "retried", require_admin,
                    lambda: and_(WorkflowInstance.status == InstanceStatus.FAILED,
                                 WorkflowInstance.shar_instance_id.is_(None)), _retry),
}


@dataclass(frozen=True)
class BulkPreview:
    action: str
    filter: dict[str, Any]
    count: int  # the filtered instances the action applies to
    skipped: int  # the filtered instances it does not apply to
    applies_to: str
    sample: list[WorkflowInstance]  # the newest SAMPLE_SIZE of those it applies to

    @property
    def matched(self) -> int:
        return self.count + self.skipped

    @property
    def verb(self) -> str:
        return ACTIONS[self.action].verb

    @property
    def skipped_reason(self) -> str:
        return f"only {self.applies_to} are {self.verb}"


@dataclass(frozen=True)
class BulkStarted:
    operation: BulkOperation
    job: JobRecord


def actions_for(actor: Actor) -> list[str]:
    """The bulk actions `actor` may start (none for viewers), for the forms that offer them."""
    allowed = []
    for name, spec in ACTIONS.items():
        try:
            spec.guard(actor)
        except PermissionDenied:
            continue
        allowed.append(name)
    return allowed


# -- the filter: from JSON, and as an operation stores it ----------------------------------

def instance_filter(data: Any) -> InstanceFilter:
    """The filter of a bulk action from a JSON object (the API's body):
    `status`, `workflow`, `version`, `activity`, `var` (a condition or a list), `older_than`, `mine`.
    InvalidInput names the field that is wrong; the values are checked when the filter is used."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput.field("filter", "filter must be a JSON object")
    unknown = sorted(set(data) - set(FILTER_FIELDS))
    if unknown:
        raise InvalidInput.field("filter", f"unknown filter field {unknown[0]!r}; the fields are "
                                           + ", ".join(FILTER_FIELDS))
    texts = {name: _text(data, name) for name in ("status", "workflow", "activity", "older_than")}
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, str))):
        raise InvalidInput.field("version", "version must be a whole number")
    conditions = data.get("var") or []
    if isinstance(conditions, str):
        conditions = [conditions]
    if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
        raise InvalidInput.field("var", "var must be a condition (NAME OP VALUE) or a list of them")
    mine = data.get("mine", False)
    if not isinstance(mine, bool):
        raise InvalidInput.field("mine", "mine must be true or false")
    return InstanceFilter(variables=tuple(conditions), version=version if version != "" else None, mine=mine,
                          **texts)


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput.field(name, f"{name} must be a string")
    return (value or "").strip() or None


# -- operations ------------------------------------------------------------------------

def preview_bulk(filters: InstanceFilter, action: str, *, actor: Actor) -> BulkPreview:
    """What `action` would do to the instances `filters` selects of those `actor` may see: how
    many it applies to, how many it skips, and the newest SAMPLE_SIZE. Nothing is stored."""
    spec = _action(action)
    spec.guard(actor)
    count, skipped = _counts(actor, filters, spec)
    _check_limit(count)
    sample = list(db.session.scalars(_newest_first(_applicable(actor, filters, spec)).limit(SAMPLE_SIZE)))
    return BulkPreview(action, filters.as_dict(), count, skipped, spec.applies_to, sample)


def start_bulk(filters: InstanceFilter, action: str, *, actor: Actor) -> BulkStarted:
    """Store the operation with the ids of the instances it covers (taken now), its one audit
    entry, and queue its job. InvalidInput above MAX_INSTANCES; Conflict when none match."""
    spec = _action(action)
    spec.guard(actor)
    count, skipped = _counts(actor, filters, spec)
    _check_limit(count)
    ids = list(db.session.scalars(_newest_first(_applicable(actor, filters, spec))
                                  .with_only_columns(WorkflowInstance.id).limit(MAX_INSTANCES + 1)))
    _check_limit(len(ids))  # more may have come since they were counted
    if not ids:
        raise Conflict(f"no {spec.applies_to} match this filter: nothing to {action}")
    operation = BulkOperation(action=action, filter=filters.as_dict(), requested_by=actor.id,
                              requested_by_name=actor_label(actor), state=RUNNING, total=len(ids),
                              skipped=max(skipped + count - len(ids), 0), instance_ids=ids, errors=[])
    db.session.add(operation)
    db.session.flush()
    audit(actor, f"instance.bulk_{action}", "bulk_operation", operation.id,
          after={"filter": operation.filter, "count": len(ids), "skipped": operation.skipped})
    job = submit("bulk_operation", target_type="bulk_operation", target_id=operation.id, created_by=actor.id)
    return BulkStarted(operation, job)


def get_bulk(operation_id: int, *, actor: Actor, fresh: bool = False) -> BulkOperation:
    """An operation, for its requester and admins (NotFound for anyone else); `fresh` reads it
    again from the database (pollers)."""
    if fresh:
        db.session.expire_all()
    return find_bulk_operation(operation_id, actor)


def bulk_version(operation: BulkOperation) -> str:
    """What an operation's progress depends on: every step of its job moves updated_at."""
    return f"bulk:{operation.id}:{operation.updated_at}"


def _action(action: Any) -> Action:
    if action not in ACTIONS:
        raise InvalidInput.field("action", f"action must be one of {', '.join(ACTIONS)}")
    return ACTIONS[action]


def _check_limit(count: int) -> None:
    if count > MAX_INSTANCES:
        raise InvalidInput.field("filter", f"{count:,} instances match; a bulk action covers at most "
                                           f"{MAX_INSTANCES:,}: narrow the filter")


def _applicable(actor: Actor, filters: InstanceFilter, spec: Action) -> Select[Any]:
    return filtered_instances(actor, filters).where(spec.applies())


def _newest_first(query: Select[Any]) -> Select[Any]:
    return query.order_by(WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc())


def _counts(actor: Actor, filters: InstanceFilter, spec: Action) -> tuple[int, int]:
    """(applies, skipped) among the filtered instances `actor` may see: one read."""
    applies = func.coalesce(func.sum(case((spec.applies(), 1), else_=0)), 0)
    total, count = db.session.execute(filtered_instances(actor, filters).with_only_columns(
        func.count(), applies, maintain_column_froms=True)).one()
    return int(count), int(total) - int(count)


# -- the work of the job (app.tasks calls these) ----------------------------------------

def run_bulk(operation_id: int, lease_seconds: float) -> None:
    """Walk the operation's snapshot from where it stands (done + failed, each counted in its
    instance's commit: a retried attempt goes on at the first instance not run), running the
    instance operation of each as the requester.

    One instance refused (gone, changed meanwhile, no longer theirs to change) is counted failed
    with its reason, never the whole job; what the job runner retries (the database or queue
    away, a time limit) stops the attempt, and the next one goes on. A lease keeps a second
    worker (a re-queued attempt) from walking the same operation at once."""
    lease = f"bulk_operation:{operation_id}"
    if not leases.acquire(lease, lease_seconds):
        raise RetryableJobError(f"bulk operation {operation_id} is being run by another worker")
    try:
        _walk(operation_id)
    except Exception as exc:
        db.session.rollback()
        leases.release(lease, f"stopped: {exc}")
        raise
    leases.release(lease, "finished")


def bulk_failed(operation_id: int, error: str) -> None:
    """The job failed for good: what it did not reach is counted failed, and the operation ends."""
    operation = db.session.get(BulkOperation, operation_id)
    if operation is None or operation.state == FINISHED:
        return
    left = operation.total - operation.done - operation.failed
    if left:
        _record(operation, 0, left, [{"instance_id": None,
                                      "error": clip(f"the job stopped before {left} instances: {error}", 500)}])
    _finish(operation)


def _walk(operation_id: int) -> None:
    operation = required(BulkOperation, operation_id, "bulk operation")
    if operation.state == FINISHED:
        return
    ids, action, actor = list(operation.instance_ids), ACTIONS[operation.action], _requester(operation)
    if actor is None:
        bulk_failed(operation_id, "the requesting user no longer exists or is deactivated")
        return
    if action.check_many is not None:
        for start in range(operation.done + operation.failed, len(ids), CHUNK):
            _many(operation, action, ids[start:start + CHUNK], actor)
    else:
        for instance_id in ids[operation.done + operation.failed:]:
            _one(operation, action, instance_id, actor)
    _finish(operation)


def _many(operation: BulkOperation, action: Action, instance_ids: list[str], actor: Actor) -> None:
    """Check a chunk in one read, count it, and queue what it allows: the counts commit with the
    queued jobs, so a retried attempt goes on after the chunk and never queues it twice."""
    assert action.check_many is not None and action.queue_many is not None
    try:
        allowed, refused = action.check_many(instance_ids, actor=actor)
    except SharboardError as exc:  # a rule of the whole chunk (the requester's role)
        allowed, refused = [], {instance_id: exc.message for instance_id in instance_ids}
    _record(operation, len(allowed), len(refused),
            [{"instance_id": i, "error": clip(reason, 500)} for i, reason in refused.items()])
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
