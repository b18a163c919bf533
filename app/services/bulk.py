"""Bulk actions on instances: sync, cancel, retry or migrate the instances a filter selects, as one
audited operation that runs as one job.

    preview_bulk   how many of the filtered instances the action applies to, how many it skips,
                   the newest few, and the fingerprint of the set (the set is kept a day, to say
                   later what changed); no operation is stored
    start_bulk     the operation (with a snapshot of the ids it covers, at most MAX_INSTANCES),
                   its one audit entry and its job, in one transaction; given the preview's
                   fingerprint, only when the set is still the one previewed (PreviewChanged
                   otherwise: how many were added and gone, and the new preview)
    get_bulk       its progress, for its requester and admins
    ACTIONS        what each action applies to, the role it needs, and the instance operation
                   its job runs (bulk_work.run_bulk: the job, walking the snapshot); an action with
                   parameters (migrate: the target version and mapping) checks them before anything,
                   stores them on the operation, and adds its own detail to the preview

A filter only ever covers the instances its requester may see (instances.filtered_instances).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict, InvalidInput, PermissionDenied
from app.core.extensions import db
from app.jobs.dispatch import submit
from app.lifecycle.states import UNDER_WAY_INSTANCE, InstanceStatus
from app.models import BulkOperation, JobRecord, PreviewedSet, WorkflowInstance
from app.models._base import utcnow
from app.services import shar_features
from app.services.access import find_bulk_operation, require_admin, require_writer
from app.services.actors import Actor, actor_label
from app.services.audit import audit
from app.services.failed_jobs import failed_launch_job, requeue_failed_job
from app.services.instance_listing import InstanceFilter, filtered_instances
from app.services.instances import cancel_instance
from app.services.sync import batch_sync, request_sync, syncable
from app.services.version_migrations import bulk_parameters, bulk_preview, migratable, migrate_in_bulk

MAX_INSTANCES = 10_000  # one operation covers at most this many; above it, narrow the filter
SAMPLE_SIZE = 10
RUNNING, FINISHED = "running", "finished"
PREVIEW_KEPT = timedelta(days=1)  # how long a preview's set is kept to say what changed since
FILTER_FIELDS = ("status", "workflow", "version", "activity", "var", "older_than", "mine")


@dataclass(frozen=True)
class Action:
    applies_to: str  # what it applies to, as the preview says it
    verb: str  # what "would" happen to each: "be synced"
    guard: Callable[[Actor], None]  # the role the instance operation needs, checked before anything runs
    applies: Callable[[dict[str, Any]], Any]  # the SQL condition of the instances it applies to (its parameters)
    run: Callable[[str, Actor, int], object]  # the instance operation, as part of bulk operation N
    # Instead of `run`, for a chunk at once: check the chunk (the allowed ids, and a reason for each
    # other one), then queue the allowed ones, committing whatever the session holds with them.
    check_many: Callable[..., tuple[list[str], dict[str, str]]] | None = None  # (ids, actor=)
    queue_many: Callable[[list[str]], object] | None = None
    label: str = ""  # its name for people, where it differs from the API's action
    shar_note: str | None = None  # what SHAR keeps doing meanwhile, said before anyone confirms
    # An action that takes parameters: (the parameters as sent, the filter's workflow) -> as stored, or
    # InvalidInput; and what its preview adds about the set: (ids, parameters, actor) -> a detail.
    parameters: Callable[[Any, str | None], dict[str, Any]] | None = None
    detail: Callable[[list[str], dict[str, Any], Actor], Any] | None = None


def _sync(instance_id: str, actor: Actor, bulk: int) -> object:
    return request_sync(instance_id, actor=actor, bulk=bulk)


def _cancel(instance_id: str, actor: Actor, bulk: int) -> object:
    return cancel_instance(instance_id, actor=actor, bulk=bulk)


def _migrate(instance_id: str, actor: Actor, bulk: int) -> object:
    operation = db.session.get(BulkOperation, bulk)
    return migrate_in_bulk(instance_id, actor, (operation.parameters if operation else None) or {}, bulk)


def _retry(instance_id: str, actor: Actor, bulk: int) -> object:
    require_admin(actor)  # as retry_failed_job, whose audit entry the operation's one entry replaces
    return requeue_failed_job(failed_launch_job(instance_id, actor=actor))


ACTIONS: dict[str, Action] = {
    # Syncs are queued in batches (a job per SHAR_SYNC_BATCH_SIZE instances, as the periodic sync),
    # not a job per instance: 10,000 instances make a few hundred jobs.
    "sync": Action(
        "running instances",
        "be synced",
        require_writer,
        lambda _: WorkflowInstance.status == InstanceStatus.RUNNING,
        _sync,
        check_many=syncable,
        queue_many=batch_sync,
    ),
    # The API's "cancel": SHAR has no call to stop an instance, so sharboard only stops tracking it.
    "cancel": Action(
        "launching or running instances",
        "stop being tracked",
        require_writer,
        lambda _: WorkflowInstance.status.in_(UNDER_WAY_INSTANCE),
        _cancel,
        label="stop tracking",
        shar_note="SHAR keeps running the ones it has started: it has no call to stop an instance, so they go "
        "on to their end there, unseen here. Those whose launch has not been sent yet are never sent.",
    ),
    # A launch that failed before reaching SHAR is retried by its launch job (admins, as any failed
    # job); an instance that failed in SHAR cannot be run again.
    "retry": Action(
        "failed launches (instances that failed before reaching SHAR)",
        "be retried",
        require_admin,
        lambda _: and_(WorkflowInstance.status == InstanceStatus.FAILED, WorkflowInstance.shar_instance_id.is_(None)),
        _retry,
    ),
    # Running instances of the filter's workflow move to another version of it (services/version_migrations):
    # the preview lists those that cannot and why; the job checks each again (its owner or an admin, its
    # elements in the target) and records a refused one with its reason among the operation's failures.
    "migrate": Action(
        "running instances of the workflow on another version",
        "move to the chosen version",
        require_writer,
        migratable,
        _migrate,
        label="migrate to version",
        shar_note="SHAR moves each instance where it stands to the same elements of the chosen version (by id, "
        "or through the mapping); one standing at an element the version does not have is not moved.",
        parameters=bulk_parameters,
        detail=bulk_preview,
    ),
}


@dataclass(frozen=True)
class BulkPreview:
    action: str
    filter: dict[str, Any]
    count: int  # the filtered instances the action applies to
    skipped: int  # the filtered instances it does not apply to
    applies_to: str
    sample: list[WorkflowInstance]  # the newest SAMPLE_SIZE of those it applies to
    fingerprint: str  # of the set it applies to (fingerprint()): a confirmation carries it
    parameters: dict[str, Any] | None = None  # as checked, for an action that takes them
    detail: Any = None  # what the action adds about the set (a migration: who can move, the mapping form)

    @property
    def matched(self) -> int:
        return self.count + self.skipped

    @property
    def verb(self) -> str:
        return ACTIONS[self.action].verb

    @property
    def label(self) -> str:
        return action_label(self.action)

    @property
    def shar_note(self) -> str | None:
        return ACTIONS[self.action].shar_note

    @property
    def skipped_reason(self) -> str:
        return f"{self.label} applies only to {self.applies_to}"


class PreviewChanged(Conflict):
    """A confirmation whose set is no longer the one previewed: nothing starts; `preview` is the new
    one, `added` and `gone` say how the set changed (None when the previewed set is no longer kept)."""

    def __init__(self, preview: BulkPreview, added: int | None, gone: int | None) -> None:
        how = (
            f"{added} added, {gone} gone"
            if added is not None and gone is not None
            else "what changed is no longer known: previews are kept a day"
        )
        super().__init__(
            f"the instances changed since the preview ({how}): {preview.count} would "
            f"{preview.verb} now; check them and confirm again"
        )
        self.preview, self.added, self.gone = preview, added, gone


@dataclass(frozen=True)
class BulkStarted:
    operation: BulkOperation
    job: JobRecord


def action_label(action: str) -> str:
    """An action's name as people read it (the API's "cancel" is "stop tracking")."""
    spec = ACTIONS.get(action)
    return (spec.label if spec else "") or action


def actions_for(actor: Actor) -> list[str]:
    """The bulk actions `actor` may start (none for viewers), for the forms that offer them; an action
    whose SHAR call this SHAR does not offer (migrate) is left out, as the instance page disables it."""
    unavailable = shar_features.unavailable(ACTIONS)
    allowed = []
    for name, spec in ACTIONS.items():
        try:
            spec.guard(actor)
        except PermissionDenied:
            continue
        if name not in unavailable:
            allowed.append(name)
    return allowed


def migration_offers(running: dict[int, int], to_version: int | None, *, actor: Actor) -> dict[int, int]:
    """{version: the version to migrate its running instances to}: what a comparison of two versions
    offers `actor` for the instances still running the other one (none when they may not migrate)."""
    if to_version is None or "migrate" not in actions_for(actor):
        return {}
    return {version: to_version for version in running if version != to_version}


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
        raise InvalidInput.field(
            "filter", f"unknown filter field {unknown[0]!r}; the fields are " + ", ".join(FILTER_FIELDS)
        )
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
    return InstanceFilter(variables=tuple(conditions), version=version if version != "" else None, mine=mine, **texts)


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput.field(name, f"{name} must be a string")
    return (value or "").strip() or None


# -- operations ------------------------------------------------------------------------


def preview_bulk(filters: InstanceFilter, action: str, *, actor: Actor, parameters: Any = None) -> BulkPreview:
    """What `action` would do to the instances `filters` selects of those `actor` may see: how
    many it applies to, how many it skips, the newest SAMPLE_SIZE, and the set's fingerprint (the
    set is kept a day, so a confirmation it no longer matches can say what changed). `parameters`:
    an action's that takes them (migrate: `{"version": N, "mapping": {...}}`)."""
    spec = _action(action)
    spec.guard(actor)
    params = _parameters(spec, action, parameters, filters)
    ids, skipped = _selection(actor, filters, spec, params)
    return _preview(action, filters, spec, ids, skipped, params, actor)


def start_bulk(
    filters: InstanceFilter, action: str, *, actor: Actor, previewed: str | None = None, parameters: Any = None
) -> BulkStarted:
    """Store the operation with the ids of the instances it covers (taken now), its one audit
    entry, and queue its job. InvalidInput above MAX_INSTANCES; Conflict when none match.
    `previewed` (the fingerprint of the preview confirmed): PreviewChanged, nothing started, when
    the set is no longer that one; without it, the set the filter selects now."""
    spec = _action(action)
    spec.guard(actor)
    if previewed is not None and not isinstance(previewed, str):
        raise InvalidInput.field("fingerprint", "fingerprint must be the preview's fingerprint, a string")
    params = _parameters(spec, action, parameters, filters)
    ids, skipped = _selection(actor, filters, spec, params)
    if previewed is not None and fingerprint(ids) != previewed:
        changed = _preview(action, filters, spec, ids, skipped, params, actor)
        raise PreviewChanged(changed, *_changes(previewed, ids))
    if not ids:
        raise Conflict(f"no {spec.applies_to} match this filter: nothing to {spec.label or action}")
    operation = BulkOperation(
        action=action,
        filter=filters.as_dict(),
        requested_by=actor.id,
        requested_by_name=actor_label(actor),
        state=RUNNING,
        total=len(ids),
        skipped=skipped,
        instance_ids=ids,
        errors=[],
        parameters=params,
    )
    db.session.add(operation)
    db.session.flush()
    audit(
        actor,
        f"instance.bulk_{action}",
        "bulk_operation",
        operation.id,
        after={"filter": operation.filter, "count": len(ids), "skipped": operation.skipped}
        | ({"parameters": params} if params is not None else {}),
    )
    job = submit("bulk_operation", target_type="bulk_operation", target_id=operation.id, created_by=actor.id)
    return BulkStarted(operation, job)


def get_bulk(operation_id: int, *, actor: Actor, fresh: bool = False) -> BulkOperation:
    """An operation, for its requester and admins (NotFound for anyone else); `fresh` reads it
    again from the database (pollers)."""
    if fresh:
        db.session.expire_all()
    return find_bulk_operation(operation_id, actor)


def still_running(operation: BulkOperation) -> bool:
    """Whether the operation has instances left to go through: its progress polls."""
    return operation.state == RUNNING


def bulk_version(operation: BulkOperation) -> str:
    """What an operation's progress depends on: every step of its job moves updated_at."""
    return f"bulk:{operation.id}:{operation.updated_at}"


def fingerprint(instance_ids: Sequence[str]) -> str:
    """What a confirmation carries of the set it confirms: a hash of the sorted ids (sets reach
    MAX_INSTANCES, too many to send back)."""
    return hashlib.sha256("\n".join(sorted(instance_ids)).encode()).hexdigest()


def _parameters(spec: Action, action: str, parameters: Any, filters: InstanceFilter) -> dict[str, Any] | None:
    """An action's parameters as checked (None for one that takes none: InvalidInput when some were sent)."""
    if spec.parameters is not None:
        return spec.parameters(parameters, filters.workflow)
    if parameters not in (None, {}):
        raise InvalidInput.field("parameters", f"{action} takes no parameters")
    return None


def _selection(
    actor: Actor, filters: InstanceFilter, spec: Action, params: dict[str, Any] | None = None
) -> tuple[list[str], int]:
    """The ids the action applies to, newest first, and how many filtered instances it skips.
    InvalidInput above MAX_INSTANCES."""
    count, skipped = _counts(actor, filters, spec, params or {})
    _check_limit(count)
    ids = list(
        db.session.scalars(
            _newest_first(_applicable(actor, filters, spec, params or {}))
            .with_only_columns(WorkflowInstance.id)
            .limit(MAX_INSTANCES + 1)
        )
    )
    _check_limit(len(ids))  # more may have come since they were counted
    return ids, max(skipped + count - len(ids), 0)


def _preview(
    action: str,
    filters: InstanceFilter,
    spec: Action,
    ids: list[str],
    skipped: int,
    params: dict[str, Any] | None,
    actor: Actor,
) -> BulkPreview:
    sample = list(
        db.session.scalars(_newest_first(select(WorkflowInstance).where(WorkflowInstance.id.in_(ids[:SAMPLE_SIZE]))))
    )
    detail = spec.detail(ids, params or {}, actor) if spec.detail is not None and ids else None
    key = _remember(ids)
    return BulkPreview(action, filters.as_dict(), len(ids), skipped, spec.applies_to, sample, key, params, detail)


def _remember(instance_ids: list[str]) -> str:
    """Keep a previewed set under its fingerprint for PREVIEW_KEPT (older ones go); the fingerprint."""
    key = fingerprint(instance_ids)
    now = utcnow()
    db.session.execute(
        delete(PreviewedSet)
        .where(PreviewedSet.created_at < now - PREVIEW_KEPT)
        .execution_options(synchronize_session=False)
    )
    kept = db.session.get(PreviewedSet, key)
    if kept is None:
        db.session.add(PreviewedSet(fingerprint=key, instance_ids=sorted(instance_ids), created_at=now))
    else:
        kept.created_at = now
    try:
        db.session.commit()
    except IntegrityError:  # the same set, previewed at the same moment elsewhere: kept already
        db.session.rollback()
    return key


def _changes(previewed: str, instance_ids: list[str]) -> tuple[int | None, int | None]:
    """(added, gone) since the preview of fingerprint `previewed`; (None, None) when it is not kept."""
    kept = db.session.get(PreviewedSet, previewed) if len(previewed) == 64 else None
    if kept is None:
        return None, None
    before, now = set(kept.instance_ids), set(instance_ids)
    return len(now - before), len(before - now)


def _action(action: Any) -> Action:
    if action not in ACTIONS:
        raise InvalidInput.field("action", f"action must be one of {', '.join(ACTIONS)}")
    return ACTIONS[action]


def _check_limit(count: int) -> None:
    if count > MAX_INSTANCES:
        raise InvalidInput.field(
            "filter", f"{count:,} instances match; a bulk action covers at most {MAX_INSTANCES:,}: narrow the filter"
        )


def _applicable(actor: Actor, filters: InstanceFilter, spec: Action, params: dict[str, Any]) -> Select[Any]:
    return filtered_instances(actor, filters).where(spec.applies(params))


def _newest_first(query: Select[Any]) -> Select[Any]:
    return query.order_by(WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc())


def _counts(actor: Actor, filters: InstanceFilter, spec: Action, params: dict[str, Any]) -> tuple[int, int]:
    """(applies, skipped) among the filtered instances `actor` may see: one read."""
    applies = func.coalesce(func.sum(case((spec.applies(params), 1), else_=0)), 0)
    total, count = db.session.execute(
        filtered_instances(actor, filters).with_only_columns(func.count(), applies, maintain_column_froms=True)
    ).one()
    return int(count), int(total) - int(count)
