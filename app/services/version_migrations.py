"""Migrating running instances to another version of their workflow (issue #23): its rule, its
preview and the request; the job's SHAR call is migration_work's.

    preview_migration   which of the instances can move and which cannot and why (naming each element
                        without a counterpart in the target), and the mapping form: the elements of their
                        versions that the target no longer has (services/version_diffs), with the target's
                        elements to choose from. Read from the stored files and rows: SHAR is not asked.
    migrate_instance    one instance, checked again with the same rule; its timeline entry, audit entry and
                        job in one transaction (as part of bulk operation N, that operation's one entry)
    bulk_parameters     the bulk action "migrate" (services/bulk.ACTIONS): its target and mapping, checked
    migratable          the SQL of the instances that action applies to

The rule: the instance's owner or an admin (never a viewer); the target is an active version of the
instance's own workflow, not the one it runs; the instance runs in SHAR; every element it stands at
exists in the target by id, else through `mapping` (old id -> an element of the target).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import joinedload

from app.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.core.extensions import db
from app.jobs.dispatch import submit
from app.lifecycle.changes import record_activity
from app.lifecycle.states import InstanceStatus, WorkflowStatus
from app.models import JobRecord, Workflow, WorkflowInstance
from app.services import element_names, shar_features
from app.services.access import find_instance, may_repair, may_see_instance, require_repair, require_writer
from app.services.activities import MAX_ELEMENT_ID
from app.services.actors import Actor
from app.services.audit import audit
from app.services.element_names import ElementNames
from app.services.instances import hold_instance
from app.services.repair_checks import refuse_open_repair
from app.services.version_diffs import diff_of
from app.services.workflows import version_number

JOB = "migrate_instance"
CALL = "migrate"  # the gateway's call, as services/shar_features names it
MAX_MAPPING = 200  # entries of a mapping: the ids of one file that changed
SHOWN = 100  # instances a preview lists by id (the counts are whole)
MAX_SOURCE_VERSIONS = 10  # versions a preview diffs for its mapping form (the newest of those the instances run)
_CHUNK = 500


@dataclass(frozen=True)
class Target:
    workflow: Workflow
    shar_version: int  # the number SHAR knows it by (its create answer's), sent in the migrate call
    names: ElementNames  # its flow nodes: the elements an instance can stand at

    @property
    def version(self) -> int:
        return self.workflow.version

    def has(self, element_id: str | None) -> bool:
        return element_id is not None and element_id in self.names.names


@dataclass(frozen=True)
class Refusal:
    instance_id: str
    reason: str
    elements: tuple[str, ...] = ()  # the elements without a counterpart in the target, if that is why

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "reason": self.reason, "elements": list(self.elements)}


@dataclass(frozen=True)
class ChangedElement:
    """An element of the instances' versions that the target no longer has: a row of the mapping form."""

    id: str
    label: str  # as its version names it
    versions: tuple[int, ...]  # the versions that have it
    instances: int  # how many of the previewed instances stand there
    mapped_to: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "versions": list(self.versions),
            "instances": self.instances,
            "mapped_to": self.mapped_to,
        }


@dataclass(frozen=True)
class MigrationPreview:
    workflow: str
    target_version: int
    mapping: dict[str, str]
    movable: list[str]  # ids of the instances that can move, SHOWN at most (movable_count is whole)
    movable_count: int
    refused: list[Refusal]  # SHOWN at most (refused_count is whole)
    refused_count: int
    changed: list[ChangedElement]
    choices: list[tuple[str, str]] = field(default_factory=list)  # the target's elements: (id, label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "target_version": self.target_version,
            "mapping": dict(self.mapping),
            "movable": list(self.movable),
            "movable_count": self.movable_count,
            "refused": [r.to_dict() for r in self.refused],
            "refused_count": self.refused_count,
            "changed": [c.to_dict() for c in self.changed],
            "target_elements": [{"id": i, "label": label} for i, label in self.choices],
        }

    def mapping_options(self, element: ChangedElement) -> list[tuple[str, str, bool]]:
        """(id, label, chosen?) of the target's elements, for `element`'s mapping select."""
        return [(i, label, i == element.mapped_to) for i, label in self.choices]


@dataclass(frozen=True)
class MigrationForm:
    instance: WorkflowInstance
    versions: list[int]  # the active versions of its workflow it may move to


@dataclass(frozen=True)
class MigrationQueued:
    instance: WorkflowInstance
    job: JobRecord
    target_version: int


# -- operations ------------------------------------------------------------------------


def preview_migration(
    instance_ids: Sequence[str], target_version: Any, mapping: Any = None, *, actor: Actor, workflow: str | None = None
) -> MigrationPreview:
    """Which of `instance_ids` could move to version `target_version` of their workflow with `mapping`,
    which could not and why, and the mapping form; nothing is stored and SHAR is not asked.
    One instance: NotFound when `actor` may not see it, PermissionDenied when it is not theirs to
    change, InvalidInput when it already runs that version. Many (a bulk's set): they all belong to
    one workflow (`workflow`, else theirs); each one refused is listed with its reason."""
    require_writer(actor)
    rows = _rows(instance_ids, actor)
    target = resolve_target(workflow or _one_workflow(rows), target_version)
    if len(rows) == 1:
        _check_single(rows[0], target, actor)
    return _preview(rows, target, check_mapping(mapping, target), actor)


def _preview(rows: list[WorkflowInstance], target: Target, mapping: dict[str, str], actor: Actor) -> MigrationPreview:
    movable: list[str] = []
    refused: list[Refusal] = []
    for row in rows:
        refusal = refusal_of(row, target, mapping, actor)
        if refusal is None:
            movable.append(row.id)
        else:
            refused.append(refusal)
    return MigrationPreview(
        workflow=target.workflow.name,
        target_version=target.version,
        mapping=mapping,
        movable=movable[:SHOWN],
        movable_count=len(movable),
        refused=refused[:SHOWN],
        refused_count=len(refused),
        changed=_changed(rows, target, mapping, actor),
        choices=target.names.choices(),
    )


def migrate_instance(
    instance_id: str,
    target_version: Any,
    mapping: Any = None,
    *,
    actor: Actor,
    workflow: str | None = None,
    bulk: int | None = None,
) -> MigrationQueued:
    """Queue the move of a running instance to version `target_version` of its workflow (a job calls
    SHAR: migration_work). Checked with preview_migration's rule, again under a hold of the instance;
    InvalidInput naming the elements without a counterpart, Conflict when it is not running or a
    migration of it is already queued. As part of bulk operation `bulk`, its one audit entry covers this."""
    require_writer(actor)
    instance = find_instance(instance_id, actor)
    shar_features.require_offered(CALL)
    target = resolve_target(workflow or instance.workflow.name, target_version)
    _check_single(instance, target, actor)
    mapping = check_mapping(mapping, target)
    hold_instance(instance.id)  # two requests at once decide one after the other
    db.session.refresh(instance)
    try:
        refuse_open_repair(instance.id)  # one repair at a time: a move, a change of variables or this
        refusal = refusal_of(instance, target, mapping, actor)
        if refusal is not None:
            raise (InvalidInput.field("mapping", refusal.reason) if refusal.elements else Conflict(refusal.reason))
    except (Conflict, InvalidInput):
        db.session.rollback()  # nothing was written: let go of the instance at once
        raise
    used = {a: mapping[a] for a in instance.current_activities or () if not target.has(a) and a in mapping}
    source = instance.workflow.version
    record_activity(
        instance,
        "migration_requested",
        f"move from version {source} to version {target.version} requested"
        + (f" (mapping {_described(used, instance.workflow, target)})" if used else "")
        + (f" (bulk operation {bulk})" if bulk is not None else ""),
        by=actor.email,
        from_version=source,
        to_version=target.version,
        mapping=used,
    )
    if bulk is None:
        audit(
            actor,
            "instance.migrate",
            "instance",
            instance.id,
            before={"version": source},
            after={"version": target.version, "mapping": used},
        )
    job = submit(
        JOB,
        target_type="instance",
        target_id=instance.id,
        created_by=actor.id,
        payload={"workflow_id": target.workflow.id, "version": target.shar_version, "mapping": used, "bulk": bulk},
    )
    return MigrationQueued(instance, job, target.version)


def migration_form(instance_id: str, *, actor: Actor) -> MigrationForm:
    """What the "Move to another version" form offers: the instance (NotFound when `actor` may not
    see it; PermissionDenied for a viewer or another's; NotOffered when this SHAR lacks the call) and
    the versions it may move to."""
    instance = find_instance(instance_id, actor)
    require_repair(actor, instance, "move it to another version")
    shar_features.require_offered(CALL)
    return MigrationForm(instance, target_versions(instance))


def target_versions(instance: WorkflowInstance) -> list[int]:
    """The versions an instance may be offered to move to: the active ones of its workflow but its own."""
    return list(
        db.session.scalars(
            select(Workflow.version)
            .where(
                Workflow.name == instance.workflow.name,
                Workflow.status == WorkflowStatus.ACTIVE,
                Workflow.id != instance.workflow_id,
            )
            .order_by(Workflow.version)
        )
    )


# -- the bulk action ---------------------------------------------------------------------


def bulk_parameters(data: Any, workflow: str | None) -> dict[str, Any]:
    """The bulk migration's parameters from `{"version": N, "mapping": {...}}`, for the instances of
    `workflow` (the filter's: instances move between versions of one workflow), as the operation stores them."""
    if data is None:
        raise InvalidInput.field("version", "choose the version to migrate the instances to")
    if not isinstance(data, dict):
        raise InvalidInput.field("parameters", 'migrate takes parameters: {"version": N, "mapping": {...}}')
    unknown = sorted(set(data) - {"version", "mapping"})
    if unknown:
        raise InvalidInput.field("parameters", f"unknown parameter {unknown[0]!r}; migrate takes version and mapping")
    shar_features.require_offered(CALL)
    if not workflow:
        raise InvalidInput.field(
            "workflow", "migrating needs the filter's workflow: instances move between versions of one workflow"
        )
    target = resolve_target(workflow, data.get("version"))
    return {
        "workflow": workflow,
        "workflow_id": target.workflow.id,
        "version": target.version,
        "mapping": check_mapping(data.get("mapping"), target),
    }


def migratable(parameters: dict[str, Any]) -> ColumnElement[bool]:
    """The instances a bulk migration applies to: running ones of its workflow, on another version
    than the target (whether each can move is refusal_of's, said by the preview and checked by the job)."""
    others = select(Workflow.id).where(
        Workflow.name == parameters.get("workflow"), Workflow.id != parameters.get("workflow_id")
    )
    return and_(WorkflowInstance.status == InstanceStatus.RUNNING, WorkflowInstance.workflow_id.in_(others))


def bulk_preview(instance_ids: list[str], parameters: dict[str, Any], actor: Actor) -> MigrationPreview:
    """preview_migration of a bulk migration's set: each instance refused is listed with its reason."""
    require_writer(actor)
    target = resolve_target(parameters["workflow"], parameters["version"])
    return _preview(_rows(instance_ids, actor, many=True), target, check_mapping(parameters["mapping"], target), actor)


def migrate_in_bulk(instance_id: str, actor: Actor, parameters: dict[str, Any], bulk: int) -> MigrationQueued:
    return migrate_instance(
        instance_id,
        parameters["version"],
        parameters["mapping"],
        actor=actor,
        workflow=parameters["workflow"],
        bulk=bulk,
    )


# -- the rule --------------------------------------------------------------------------


def resolve_target(workflow: str, version: Any) -> Target:
    """Version `version` of `workflow`, active (NotFound for no such version, InvalidInput for one
    not active), with its elements."""
    number = version_number(version, "version")
    row = db.session.scalars(select(Workflow).where(Workflow.name == workflow, Workflow.version == number)).first()
    if row is None:
        raise NotFound(f"no version {number} of workflow {workflow!r}")
    if row.status != WorkflowStatus.ACTIVE:
        raise InvalidInput.field(
            "version", f"version {number} of {workflow!r} is {row.status}; instances move only to an active version"
        )
    return Target(row, shar_version_of(row), element_names.names_of(row))


def shar_version_of(workflow: Workflow) -> int:
    """The version number SHAR gave the workflow (its create answer's), else sharboard's."""
    number = (workflow.shar_response or {}).get("version")
    return number if isinstance(number, int) and not isinstance(number, bool) else workflow.version


def check_mapping(mapping: Any, target: Target) -> dict[str, str]:
    """`{old element id: element id of the target}`; an entry mapped to "" (a form's "not mapped") is
    dropped. InvalidInput naming a target element that does not exist."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidInput.field("mapping", "mapping must be a JSON object: {old element id: new element id}")
    if len(mapping) > MAX_MAPPING:
        raise InvalidInput.field("mapping", f"a mapping has at most {MAX_MAPPING} entries")
    checked: dict[str, str] = {}
    for old, new in mapping.items():
        if not isinstance(new, str) or not isinstance(old, str) or not old.strip():
            raise InvalidInput.field("mapping", "mapping maps element ids (strings) to element ids")
        old, new = old.strip(), new.strip()
        if not new:
            continue
        if len(old) > MAX_ELEMENT_ID or not target.has(new):
            raise InvalidInput.field(
                "mapping",
                f"version {target.version} of {target.workflow.name!r} has no element {new[:MAX_ELEMENT_ID]!r} "
                f"to map {old[:MAX_ELEMENT_ID]!r} to",
            )
        checked[old] = new
    return checked


def refusal_of(instance: WorkflowInstance, target: Target, mapping: dict[str, str], actor: Actor) -> Refusal | None:
    """Why `instance` cannot move to `target` with `mapping`, or None when it can."""
    where = instance.workflow
    if where.name != target.workflow.name:
        return Refusal(instance.id, f"instance {instance.id} runs {where.name!r}, not {target.workflow.name!r}")
    if not may_repair(actor, instance.created_by):
        return Refusal(instance.id, f"instance {instance.id} belongs to another user: only its owner or an admin")
    if instance.workflow_id == target.workflow.id:
        return Refusal(instance.id, f"instance {instance.id} already runs version {target.version}")
    if instance.status != InstanceStatus.RUNNING or not instance.shar_instance_id:
        return Refusal(instance.id, f"instance {instance.id} is {instance.status}; only a running instance moves")
    missing = tuple(a for a in instance.current_activities or () if not (target.has(a) or target.has(mapping.get(a))))
    if not missing:
        return None
    names = element_names.names_of(where)
    return Refusal(
        instance.id,
        f"instance {instance.id} stands at {names.describe_all(missing)}, which version {target.version} does not "
        f"have: map {'it' if len(missing) == 1 else 'each'} to an element of version {target.version}",
        missing,
    )


def _check_single(instance: WorkflowInstance, target: Target, actor: Actor) -> None:
    """What refuses a request about one instance as a whole (not a reason listed among others)."""
    if instance.workflow.name != target.workflow.name:
        raise InvalidInput.field(
            "version",
            f"version {target.version} is of {target.workflow.name!r}; instance {instance.id} runs "
            f"{instance.workflow.name!r}: an instance moves only between versions of its own workflow",
        )
    if not may_repair(actor, instance.created_by):
        raise PermissionDenied(
            f"instance {instance.id} belongs to another user: only its owner or an admin may move it"
        )
    if instance.workflow_id == target.workflow.id:
        raise InvalidInput.field("version", f"instance {instance.id} already runs version {target.version}")


def _rows(instance_ids: Sequence[str], actor: Actor, *, many: bool = False) -> list[WorkflowInstance]:
    """The instances, with their versions; one given alone is found as every read finds one (NotFound)."""
    ids = list(dict.fromkeys(instance_ids))
    if len(ids) == 1 and not many:
        return [find_instance(ids[0], actor)]
    rows: list[WorkflowInstance] = []
    for start in range(0, len(ids), _CHUNK):
        rows += db.session.scalars(
            select(WorkflowInstance)
            .options(joinedload(WorkflowInstance.workflow))
            .where(WorkflowInstance.id.in_(ids[start : start + _CHUNK]))
        )
    order = {i: n for n, i in enumerate(ids)}
    return sorted((r for r in rows if may_see_instance(actor, r)), key=lambda r: order[r.id])


def _one_workflow(rows: list[WorkflowInstance]) -> str:
    names = sorted({r.workflow.name for r in rows})
    if len(names) != 1:
        raise InvalidInput.field(
            "workflow",
            "no instance to migrate" if not names else "these instances run several workflows: migrate one at a time",
        )
    return names[0]


def _changed(
    rows: list[WorkflowInstance], target: Target, mapping: dict[str, str], actor: Actor
) -> list[ChangedElement]:
    """The mapping form: the flow nodes of the instances' versions (the newest MAX_SOURCE_VERSIONS)
    that the target no longer has, by version_diffs' diff, with how many instances stand at each."""
    versions = {r.workflow_id: r.workflow for r in rows if r.workflow_id != target.workflow.id}
    sources = sorted(versions.values(), key=lambda w: w.version, reverse=True)[:MAX_SOURCE_VERSIONS]
    found: dict[str, tuple[str, list[int]]] = {}
    for source in sorted(sources, key=lambda w: w.version):
        names = element_names.names_of(source)
        for element in diff_of(source, target.workflow, actor=actor).removed:
            if element.tag != "sequenceFlow" and element.id in names.names:
                label, seen = found.setdefault(element.id, (names.describe(element.id), []))
                seen.append(source.version)
    standing = Counter(a for r in rows for a in r.current_activities or ())
    return [
        ChangedElement(eid, label, tuple(seen), standing[eid], mapping.get(eid)) for eid, (label, seen) in found.items()
    ]


def _described(mapping: dict[str, str], source: Workflow, target: Target) -> str:
    old = element_names.names_of(source)
    return ", ".join(f"{old.describe(a)} → {target.names.describe(b)}" for a, b in mapping.items())
