"""Workflows: upload (a new version of a name), list, read, delete, hand a name to another
owner; and the SHAR calls their jobs make."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from app.core import json_input
from app.core.config import current_settings
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.extensions import db, read_first
from app.jobs.dispatch import submit
from app.jobs.errors import RetryableJobError
from app.lifecycle.changes import change_status, record_activity
from app.lifecycle.events import Pending, fire, workflow_created, workflow_creation_failed
from app.lifecycle.states import WORKFLOW_STATUSES, WorkflowStatus
from app.models import ActivityEvent, JobRecord, User, Workflow, WorkflowInstance, WorkflowName
from app.services import outages
from app.services.access import (
    allowed_actions,
    instance_owner_filter,
    require_admin,
    require_upload,
    require_workflow_owner,
    require_writer,
    visible_instances,
)
from app.services.actors import Actor
from app.services.audit import audit
from app.services.callbacks import check_callback
from app.services.display import still_moving
from app.services.outcomes import Outcome, settled
from app.services.rows import required
from app.services.statistics import statistics_by_workflow_name
from app.services.workflow_input import check_bpmn, check_description, check_name
from app.shar import SharClient, SharError, SharNotFound, SharUnavailable, current_client

LIST_LIMIT = 500


@dataclass(frozen=True)
class CreateResult:
    workflow: Workflow
    created: bool  # False: the BPMN equals the latest version's, nothing new was made
    async_: bool  # a job creates it (as asked, else the setting's default), or this call did
    job: JobRecord | None = None

    @property
    def outcome(self) -> Outcome:
        """Nothing new, or how the create went (a blocking create that met an outage is queued)."""
        if not self.created or self.job is None:
            return Outcome.UNCHANGED
        return settled(self.job, async_=self.async_, succeeded=self.workflow.status == WorkflowStatus.ACTIVE)

    @property
    def error(self) -> str | None:
        return self.workflow.error


@dataclass(frozen=True)
class DeleteResult:
    workflow: Workflow
    job: JobRecord


@dataclass(frozen=True)
class WorkflowList:
    items: list[Workflow]
    total: int
    # Instance statistics per workflow name, over the instances the actor may see.
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def polling(self) -> bool:
        return any(still_moving(w) for w in self.items)


@dataclass(frozen=True)
class WorkflowPage:
    workflow: Workflow
    owner: User | None
    versions: list[Workflow]
    instances: list[WorkflowInstance]
    actions: frozenset[str]  # what the actor may do to it (access.allowed_actions)


# -- operations ------------------------------------------------------------------------


def create_workflow(
    name: object,
    bpmn_xml: object,
    *,
    actor: Actor,
    description: object = "",
    callback_url: str | None = None,
    async_: bool | None = None,
) -> CreateResult:
    """Store a `creating` placeholder (a new version if the name exists) and create it in SHAR.

    Asynchronously by default: returns at once and a job calls SHAR. With async_=False
    the call is made here, with the same status rules, records and events.
    """
    require_writer(actor)
    settings = current_settings()
    name = check_name(name)
    checked = check_bpmn(bpmn_xml, settings.max_bpmn_bytes)
    bpmn_xml, summary = checked.text, checked.summary
    description = check_description(description)
    callback_url = check_callback(callback_url)
    owner = db.session.get(WorkflowName, name)
    require_upload(actor, name, owner)
    async_ = settings.shar_async_enabled if async_ is None else async_
    digest = hashlib.sha256(bpmn_xml.encode()).hexdigest()
    latest = latest_workflow(name)
    if latest is None:
        _refuse_same_but_case(name)
    if (
        latest is not None
        and latest.bpmn_sha256 == digest
        and latest.status in (WorkflowStatus.CREATING, WorkflowStatus.ACTIVE)
    ):
        return CreateResult(latest, created=False, async_=async_)
    if owner is None:
        db.session.add(WorkflowName(name=name, owner_id=actor.id))
    workflow = Workflow(
        name=name,
        version=(latest.version + 1) if latest else 1,
        description=description,
        bpmn_xml=bpmn_xml,
        bpmn_sha256=digest,
        summary=summary,
        status=WorkflowStatus.CREATING,
        created_by=actor.id,
        callback_url=callback_url,
    )
    db.session.add(workflow)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"another version of {name!r} was uploaded at the same moment; try again") from None
    record_activity(workflow, "placeholder_created", f"version {workflow.version} stored; creation queued")
    audit(actor, "workflow.create", "workflow", workflow.id, after={"name": name, "version": workflow.version})
    job = submit(
        "create_workflow", target_type="workflow", target_id=workflow.id, created_by=actor.id, inline=not async_
    )
    db.session.refresh(workflow)
    return CreateResult(workflow, created=True, job=job, async_=async_)


def _refuse_same_but_case(name: str) -> None:
    """A new name may not differ from an existing one only in case: people would take one for the other."""
    existing = db.session.scalar(
        select(Workflow.name).where(func.lower(Workflow.name) == name.lower(), Workflow.name != name).limit(1)
    )
    if existing is not None:
        raise Conflict(
            f"a workflow named {existing!r} exists; names that differ only in case are not allowed: "
            f"upload a new version of {existing!r} or choose another name"
        )


def delete_workflow(name: str, *, actor: Actor) -> DeleteResult:
    """Make every version inactive now (no new launches) and remove it from SHAR in a job."""
    latest = get_workflow(name, actor=actor)
    owner = db.session.get(WorkflowName, name)
    require_workflow_owner(
        actor,
        name,
        owner.owner_id if owner else latest.created_by,
        owner.owner.email if owner and owner.owner else None,
    )
    if latest.status == WorkflowStatus.INACTIVE:
        raise Conflict(f"workflow {name!r} is already inactive")
    versions = list(db.session.scalars(select(Workflow).where(Workflow.name == name)))
    creating = [v for v in versions if v.status == WorkflowStatus.CREATING]
    if creating:
        raise Conflict(
            f"workflow {name!r} v{creating[0].version} is still being created; delete it once it is active or failed"
        )
    audit(actor, "workflow.delete", "workflow", latest.id, before={"name": name, "status": latest.status})
    for version in versions:
        if version.status in (WorkflowStatus.ACTIVE, WorkflowStatus.FAILED):
            change_status(version, WorkflowStatus.INACTIVE, message=f"deleted by {actor.email}")
    job = submit(
        "delete_workflow", target_type="workflow", target_id=latest.id, created_by=actor.id, payload={"name": name}
    )
    db.session.refresh(latest)
    return DeleteResult(latest, job)


def transfer_workflow(name: str, new_owner_email: str, *, actor: Actor) -> WorkflowName:
    """Hand workflow name `name` to another user (admins only)."""
    require_admin(actor)
    get_workflow(name, actor=actor)
    if not (new_owner_email or "").strip():
        raise InvalidInput.field("owner", "owner is required: the new owner's e-mail address")
    user = db.session.scalars(select(User).where(User.email == new_owner_email.strip().lower())).first()
    if user is None or not user.active:
        raise InvalidInput.field("owner", f"no active user {new_owner_email!r}")
    row = db.session.get(WorkflowName, name) or WorkflowName(name=name)
    before = row.owner.email if row.owner else None
    row.owner_id = user.id
    db.session.add(row)
    audit(actor, "workflow.transfer", "workflow_name", name, before={"owner": before}, after={"owner": user.email})
    db.session.commit()
    return row


# -- reading ---------------------------------------------------------------------------

# Built once: every launch reads it (building the statement cost more than running it).
_LATEST = select(Workflow).where(Workflow.name == bindparam("name")).order_by(Workflow.version.desc()).limit(1)


def latest_workflow(name: str) -> Workflow | None:
    """The newest version of workflow `name`, or None."""
    return db.session.scalars(_LATEST, {"name": name}).first()


def get_workflow(name: str, *, actor: Actor) -> Workflow:
    """The newest version of `name`. Every role sees every workflow; instances are what is private."""
    workflow = latest_workflow(name)
    if workflow is None:
        raise NotFound(f"no workflow named {name!r}")
    return workflow


def get_workflow_by_id(workflow_id: int, *, actor: Actor) -> Workflow:
    return required(Workflow, workflow_id, "workflow with id")


# Built once: the badge is polled every few seconds per open page.
_STATUS_VERSION = select(Workflow.status, Workflow.updated_at).where(Workflow.id == bindparam("workflow_id"))


def workflow_status_version(workflow_id: int, *, actor: Actor) -> str:
    """What a workflow's status badge depends on, read without loading the row; NotFound as
    get_workflow_by_id."""
    row = read_first(_STATUS_VERSION, {"workflow_id": workflow_id})
    if row is None:
        raise NotFound(f"no workflow with id {workflow_id}")
    return f"{row.status}:{row.updated_at}:{outages.version_key()}"


MAX_VERSION = 2**31 - 1  # the column is a 32-bit integer: larger numbers name no version


def version_number(value: object, field_name: str = "version") -> int:
    """A version number from a caller: an int, or its digits as text, between 1 and MAX_VERSION."""
    return json_input.whole_number(value, field_name, 1, MAX_VERSION, what="a version number (1 or more)")


def get_version(name: str, version: int, *, actor: Actor) -> Workflow:
    workflow = db.session.scalars(select(Workflow).where(Workflow.name == name, Workflow.version == version)).first()
    if workflow is None:
        raise NotFound(f"no version {version} of workflow {name!r}")
    return workflow


def version_numbers(name: str, *, actor: Actor) -> list[int]:
    return list(db.session.scalars(select(Workflow.version).where(Workflow.name == name).order_by(Workflow.version)))


def list_workflows(
    *,
    actor: Actor,
    search: str = "",
    status: str | None = None,
    page: int = 1,
    per_page: int = LIST_LIMIT,
    with_total: bool = True,
) -> WorkflowList:
    """The newest version of each workflow, by name, with the actor's instance statistics."""
    query = latest_versions(search, status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) if with_total else 0
    items = list(db.session.scalars(query.order_by(Workflow.name).offset((page - 1) * per_page).limit(per_page)))
    statistics = statistics_by_workflow_name([w.name for w in items], created_by=instance_owner_filter(actor))
    return WorkflowList(items, total or 0, statistics)


def workflow_list_version(*, actor: Actor, search: str = "", status: str | None = None) -> str:
    """What the polled list depends on: its rows and newest change (few: one per name), and the
    newest launch the actor may see (read from an index, never a count over every instance)."""
    listed = latest_versions(search, status).subquery()
    count, newest = db.session.execute(select(func.count(), func.max(listed.c.updated_at))).one()
    launched = db.session.scalar(visible_instances(actor).with_only_columns(func.max(WorkflowInstance.created_at)))
    return f"{count}:{newest}:{launched}"


def workflow_page(name: str, *, actor: Actor, instance_limit: int = 50) -> WorkflowPage:
    """One workflow: its newest version, owner, every version, and the actor's newest instances."""
    workflow = get_workflow(name, actor=actor)
    owner = db.session.get(WorkflowName, name)
    versions = list(db.session.scalars(select(Workflow).where(Workflow.name == name).order_by(Workflow.version.desc())))
    instances = list(
        db.session.scalars(
            visible_instances(actor)
            .join(Workflow)
            .where(Workflow.name == name)
            .order_by(WorkflowInstance.created_at.desc())
            .limit(instance_limit)
        )
    )
    return WorkflowPage(workflow, owner.owner if owner else None, versions, instances, allowed_actions(actor, workflow))


def is_ready(workflow: Workflow) -> bool:
    """Whether it is active in SHAR: ready to launch (the API's status poll says so)."""
    return workflow.status == WorkflowStatus.ACTIVE


def version_timeline(workflow: Workflow) -> list[ActivityEvent]:
    """What happened to one version, oldest first: stored, sent to SHAR (or adopted from it), failed,
    retried. Every role sees every workflow."""
    return list(
        db.session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.target_type == "workflow", ActivityEvent.target_id == str(workflow.id))
            .order_by(ActivityEvent.created_at, ActivityEvent.id)
        )
    )


def workflow_owner(name: str) -> User | None:
    row = db.session.get(WorkflowName, name)
    return row.owner if row else None


def latest_versions(search: str = "", status: str | None = None):  # type: ignore[no-untyped-def]
    """The newest version of each workflow name (filtered by name and status), as a query."""
    newest = select(Workflow.name, func.max(Workflow.version).label("version")).group_by(Workflow.name).subquery()
    query = select(Workflow).join(newest, (Workflow.name == newest.c.name) & (Workflow.version == newest.c.version))
    if search:
        # The text as typed: % and _ are characters of a name here, not wildcards.
        query = query.where(Workflow.name.icontains(search.strip(), autoescape=True))
    if status:
        if status not in WORKFLOW_STATUSES:
            raise InvalidInput.field("status", f"status must be one of {', '.join(WORKFLOW_STATUSES)}")
        query = query.where(Workflow.status == status)
    return query


# -- the work of the jobs (app.tasks calls these) ---------------------------------------


def create_in_shar(workflow_id: int, *, resend: bool = False) -> Pending | None:
    """Send the BPMN to SHAR; on success the workflow becomes active (uncommitted: the job's success
    commits it) and the events to fire after that commit are returned.

    A re-send (an attempt after the first: the one before may have reached SHAR before it was cut
    off by its time limit, a killed worker or a lost answer) first asks SHAR what it holds under
    the name, and adopts it when it holds this version's BPMN instead of creating it again.
    """
    workflow = required(Workflow, workflow_id, "workflow with id")
    if workflow.status != WorkflowStatus.CREATING:
        return None  # done by an earlier delivery of this job, or cancelled by a delete
    client = current_client()
    events = Pending()
    if resend:
        held, why = _held_in_shar(client, workflow)
        if held is not None:
            record_activity(
                workflow,
                "create_adopted",
                f"SHAR already holds this BPMN as its version "
                f"{held.get('version', '?')} of {workflow.name}: an earlier create request reached it; "
                "adopted, not sent again",
                shar_response=held,
            )
            _created(workflow, held, events)
            return events
        record_activity(workflow, "create_resent", f"create request sent again: {why}")
        db.session.commit()  # said before it is sent, as a launch's re-send is
    _created(workflow, client.create_workflow(workflow.name, workflow.bpmn_xml), events)
    return events


def _held_in_shar(client: SharClient, workflow: Workflow) -> tuple[dict[str, Any] | None, str]:
    """SHAR's answer for the workflow's name when it holds this version's BPMN (by the digest it
    reports, a contract extension), or None and why not. A lookup that fails with SHAR reachable
    fails the attempt, retried as a whole: nothing is sent without an answer."""
    try:
        held = client.get_workflow(workflow.name)
    except SharNotFound:
        return None, f"SHAR holds no workflow named {workflow.name}"
    except SharUnavailable:
        raise  # an outage: the runner holds the job
    except SharError as exc:
        raise RetryableJobError(
            f"could not ask SHAR whether an earlier create of {workflow.name} reached it "
            f"({exc}); nothing was sent again"
        ) from exc
    digest = held.get("bpmn_sha256")
    if digest == workflow.bpmn_sha256:
        return held, ""
    if digest is None:
        return None, "SHAR does not say which BPMN it holds under this name"
    return None, "SHAR holds another BPMN under this name"


def _created(workflow: Workflow, answer: dict[str, Any], events: Pending) -> None:
    # Fired after the job's commit, not now: a listener's own commit would make the workflow active
    # before the job's success is written (a reader, or a worker killed between them, would see both).
    if change_status(workflow, WorkflowStatus.ACTIVE, commit=False, shar_response=answer, error=None):
        events.add(workflow_created, workflow, shar_response=answer)


def creation_failed(workflow_id: int, error: str) -> None:
    workflow = required(Workflow, workflow_id, "workflow with id")
    if change_status(workflow, WorkflowStatus.FAILED, error=error):
        fire(workflow_creation_failed, workflow, workflow_name=workflow.name, error_message=error)


def creation_retried(workflow_id: int) -> None:
    """A failed create is retried (by an operator, or the name's owner): only the newest version, as
    SHAR runs the newest BPMN it was given and an older one would replace it there."""
    workflow = required(Workflow, workflow_id, "workflow with id")
    newest = latest_workflow(workflow.name)
    if newest is not None and newest.id != workflow.id:
        raise Conflict(
            f"workflow {workflow.name!r} v{workflow.version} is not its newest version (v{newest.version} "
            "is): creating it in SHAR now would replace the newer one there"
        )
    if workflow.status == WorkflowStatus.FAILED:  # committed with the job's move by the caller (failed_jobs)
        change_status(workflow, WorkflowStatus.CREATING, error=None, message="retried", commit=False)


def delete_in_shar(name: str) -> None:
    """Remove the workflow from SHAR; one SHAR no longer knows counts as removed."""
    try:
        current_client().delete_workflow(name)
    except SharNotFound:
        pass
    workflow = latest_workflow(name)
    if workflow is not None:
        record_activity(workflow, "deleted_in_shar", f"{name} removed from SHAR")
        db.session.commit()
