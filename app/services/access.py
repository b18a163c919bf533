"""Visibility and permission, decided once: who sees which rows, who may change what.

    role     sees                                  may change
    admin    everything                            everything, and runs the admin pages
    viewer   every workflow and instance           nothing
    user     every workflow; their own instances   their own instances; the workflow
                                                   names they own (new versions, delete)

A bulk operation is seen by whoever started it and by admins. A saved view is its owner's (any
role saves views for themself, viewers too: a view changes nothing); a published one is seen by
everyone, and only admins publish; its owner, or an admin for a published one, renames and deletes
it; the command line (the server's owner) sees them all. A failed launch or workflow create
is retried by the row's owner (an instance's creator, a workflow name's owner) or an admin, and
the attempts of the job behind it are theirs to read; viewers read no job and retry nothing.

Services call these before acting; front doors never check roles themselves. What the pages and
the API offer comes from here too: `allowed_actions(actor, row)` for an instance, a workflow or a
job, `nav_actions(actor)` for what the pages offer whatever the row; templates read these sets and
compare no role or status (tests/unit/test_template_decisions.py). The operations still check
their own rules: an offer is no permission.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from app.core.errors import NotFound, PermissionDenied
from app.core.extensions import db
from app.lifecycle.states import REPAIRABLE_INSTANCE, UNDER_WAY_INSTANCE, InstanceStatus, JobState, WorkflowStatus
from app.models import BulkOperation, JobRecord, Notification, SavedView, Workflow, WorkflowInstance, WorkflowName
from app.services import shar_features
from app.services.actors import Actor
from app.services.launchable import diagram_only


def sees_all_instances(actor: Actor) -> bool:
    return actor.role in ("admin", "viewer")


def instance_owner_filter(actor: Actor) -> int | None:
    """The user id whose instances `actor` is limited to; None when they see all."""
    return None if sees_all_instances(actor) else actor.id


def visible_instances(actor: Actor) -> Select[tuple[WorkflowInstance]]:
    """Instances `actor` may see."""
    query = select(WorkflowInstance)
    owner = instance_owner_filter(actor)
    if owner is not None:
        query = query.where(WorkflowInstance.created_by == owner)
    return query


def find_instance(instance_id: str, actor: Actor) -> WorkflowInstance:
    """The instance if `actor` may see it; NotFound otherwise (no existence leak)."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None or not may_see_instance(actor, instance):
        raise NotFound(f"no instance {instance_id}")
    return instance


def may_see_instance(actor: Actor, instance: WorkflowInstance) -> bool:
    return may_see_owned_by(actor, instance.created_by)


def may_see_owned_by(actor: Actor, created_by: int | None) -> bool:
    """Whether `actor` may see an instance created by `created_by` (without loading the instance)."""
    owner = instance_owner_filter(actor)
    return owner is None or created_by == owner


def require_writer(actor: Actor) -> None:
    """Viewers are read-only everywhere."""
    if not actor.can_write:
        raise PermissionDenied(f"the {actor.role} role is read-only")


def sees_queues(actor: Actor) -> bool:
    """The queues (their backlog, failed jobs, their history) are the operators': admins alone, as on
    the queues page. Others' failed jobs would tell a user of work that is not theirs."""
    return actor.is_admin


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin may do this")


def require_workflow_owner(actor: Actor, name: str, owner_id: int | None, owner_email: str | None) -> None:
    """Only the owner of a workflow name, or an admin, may add versions to it or delete it."""
    require_writer(actor)
    if may_change_workflow(actor, owner_id):
        return
    owner = owner_email or "an admin"
    raise PermissionDenied(
        f"workflow {name!r} belongs to {owner}: only its owner or an admin may add versions to it or delete it"
    )


def require_upload(actor: Actor, name: str, owner: WorkflowName | None) -> None:
    """Uploading a version of `name` (`owner`: its row, None for a new name): any writer starts a
    name; only its owner or an admin adds versions to it."""
    require_writer(actor)
    if owner is not None:
        require_workflow_owner(actor, name, owner.owner_id, owner.owner.email if owner.owner else None)


def may_upload(actor: Actor, owner: WorkflowName | None) -> bool:
    """Whether require_upload would let `actor` upload (for the pages that offer it)."""
    return may_change_workflow(actor, owner.owner_id) if owner is not None else actor.can_write


def may_change_workflow(actor: Actor, owner_id: int | None) -> bool:
    """Whether `actor` may add versions to, or delete, a workflow name owned by `owner_id`."""
    return _owner_or_admin(actor, owner_id)


def may_retry(actor: Actor, owner_id: int | None) -> bool:
    """Whether `actor` may retry the failed launch or create of a row owned by `owner_id`: its
    owner or an admin, never a viewer."""
    return _owner_or_admin(actor, owner_id)


def _owner_or_admin(actor: Actor, owner_id: int | None) -> bool:
    return actor.can_write and (actor.is_admin or (owner_id is not None and owner_id == actor.id))


def may_repair(actor: Actor, owner_id: int | None) -> bool:
    """Whether `actor` may repair an instance owned by `owner_id` in SHAR (move its token, change its
    variables, migrate it): its owner or an admin, never a viewer."""
    return _owner_or_admin(actor, owner_id)


def require_repair(actor: Actor, instance: WorkflowInstance, what: str) -> None:
    """Only the instance's owner or an admin may repair it (`what`: "move it", ...)."""
    require_writer(actor)
    if not may_repair(actor, instance.created_by):
        raise PermissionDenied(f"instance {instance.id} belongs to another user: only its owner or an admin may {what}")


def require_retry(actor: Actor, owner_id: int | None, what: str) -> None:
    """Only the owner of `what` (an instance, a workflow) or an admin may retry it."""
    require_writer(actor)
    if not may_retry(actor, owner_id):
        raise PermissionDenied(f"{what} belongs to another user: only its owner or an admin may retry it")


def may_read_jobs_of(actor: Actor, owner_id: int | None) -> bool:
    """Whether `actor` may read the job (its attempts and their errors) that works on a row owned by
    `owner_id`: its owner or an admin. Tracebacks and the job's own page stay the admins'."""
    return actor.is_admin or (actor.id is not None and owner_id == actor.id)


def find_notification(note_id: int, actor: Actor) -> Notification:
    """One of `actor`'s own notifications; nobody reads another's."""
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != actor.id:
        raise NotFound(f"no notification {note_id}")
    return note


def find_bulk_operation(operation_id: int, actor: Actor) -> BulkOperation:
    """The bulk operation if `actor` started it or is an admin; NotFound otherwise (no existence leak)."""
    operation = db.session.get(BulkOperation, operation_id)
    if operation is None or not (actor.is_admin or (actor.id is not None and operation.requested_by == actor.id)):
        raise NotFound(f"no bulk operation {operation_id}")
    return operation


def may_see_view(actor: Actor, view: SavedView) -> bool:
    """Whether `actor` may open a saved view: its owner, anyone when it is published, the command line."""
    return view.published or (actor.id is not None and view.owner_id == actor.id) or actor.id is None


def find_view(view_id: int, actor: Actor) -> SavedView:
    """The saved view if `actor` may open it; NotFound otherwise (another's private view is not told apart)."""
    view = db.session.get(SavedView, view_id)
    if view is None or not may_see_view(actor, view):
        raise NotFound(f"no saved view {view_id}")
    return view


def may_change_view(actor: Actor, view: SavedView) -> bool:
    """Rename or delete: its owner; an admin too when it is published (everyone sees it)."""
    return (actor.id is not None and view.owner_id == actor.id) or (actor.is_admin and may_see_view(actor, view))


def require_view_change(actor: Actor, view: SavedView) -> None:
    if not may_change_view(actor, view):
        raise PermissionDenied(f"saved view {view.name!r} belongs to another user: only they or an admin may change it")


def require_publisher(actor: Actor) -> None:
    """Publishing a view shows it to everyone: an admin's decision."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin may do this: a published view is shown to everyone")


def owner_id_of(workflow: Workflow, owner: WorkflowName | None = None) -> int | None:
    """Who owns `workflow`'s name (its WorkflowName row, read when not given), the uploader when
    it has none: the user who may add versions, delete it and retry its create."""
    owner = owner or db.session.get(WorkflowName, workflow.name)
    return owner.owner_id if owner else workflow.created_by


# -- what the pages and the API offer ----------------------------------------------------

# Every name allowed_actions may give, per kind of row (the OpenAPI document lists them).
INSTANCE_ACTIONS = (
    *("sync", "complete", "deliver_message", "cancel", "retry", "see_job"),
    *("move", "edit_variables", "migrate"),
)
# The repairs of an instance in SHAR: each needs a call of the gateway SHAR may not offer (shar_features).
REPAIR_ACTIONS = ("move", "edit_variables")
WORKFLOW_ACTIONS = ("launch", "upload", "delete", "transfer", "retry", "see_job")
JOB_ACTIONS = ("open", "retry", "delete", "correct_and_retry")
VIEW_ACTIONS = ("open", "rename", "delete", "publish", "unpublish")


def nav_actions(actor: Actor) -> frozenset[str]:
    """What the pages offer `actor` whatever the row: the admin menu and links ("admin_pages"),
    the upload form ("upload_workflows"), the launch form ("launch_instances"), and the "mine only"
    filter to whoever sees others' instances ("filter_mine"), saving the list as a view to every
    signed-in person ("save_views") and publishing it to admins ("publish_views"), and the queues'
    backlog and failed jobs to whoever may see them ("see_queues")."""
    return _chosen(
        {
            "admin_pages": actor.is_admin,
            "upload_workflows": actor.can_write,
            "launch_instances": actor.can_write,
            "filter_mine": sees_all_instances(actor),
            "save_views": actor.id is not None,
            "publish_views": actor.is_admin,
            "see_queues": sees_queues(actor),
        }
    )


def allowed_actions(actor: Actor, row: WorkflowInstance | Workflow | JobRecord | SavedView) -> frozenset[str]:
    """What `actor` may do to `row` now, by role, ownership and the row's state: what the pages and
    the API offer. The operation still checks (and says why it refuses)."""
    if isinstance(row, WorkflowInstance):
        return _instance_actions(actor, row)
    if isinstance(row, Workflow):
        return _workflow_actions(actor, row)
    if isinstance(row, SavedView):
        return _view_actions(actor, row)
    return _job_actions(actor, row)


def _instance_actions(actor: Actor, instance: WorkflowInstance) -> frozenset[str]:
    """A writer syncs, completes and messages a running instance (at what it waits for) and stops
    tracking one under way; its owner or an admin retries a launch that failed before SHAR had it,
    reads the job behind it, and repairs one running or failed in SHAR (unless SHAR does not offer
    the call: unavailable_actions says why)."""
    if not may_see_instance(actor, instance):
        return frozenset()
    running = actor.can_write and instance.status == InstanceStatus.RUNNING
    launch_failed = instance.status == InstanceStatus.FAILED and not instance.shar_instance_id
    repairs = _repairs(actor, instance)
    unavailable = shar_features.unavailable(repairs) if repairs else {}
    return _chosen(
        {
            "sync": running,
            "complete": running,
            "deliver_message": running,
            "cancel": actor.can_write and instance.status in UNDER_WAY_INSTANCE,
            "retry": launch_failed and may_retry(actor, instance.created_by),
            "see_job": may_read_jobs_of(actor, instance.created_by),
            **{action: action not in unavailable for action in repairs},
        }
    )


def _repairs(actor: Actor, instance: WorkflowInstance) -> tuple[str, ...]:
    """The repairs `actor` may ask for on `instance` whether SHAR offers them or not: an instance SHAR
    has (running, or failed there), its owner's or an admin's."""
    in_shar = instance.status in REPAIRABLE_INSTANCE and bool(instance.shar_instance_id)
    if not (in_shar and may_repair(actor, instance.created_by)):
        return ()
    # Migrating to another version moves a running instance only (services/version_migrations).
    return (*REPAIR_ACTIONS, "migrate") if instance.status == InstanceStatus.RUNNING else REPAIR_ACTIONS


def unavailable_actions(actor: Actor, row: WorkflowInstance) -> dict[str, str]:
    """{action: why it cannot be offered now} for the repairs `actor` could ask for on `row` but this
    SHAR does not offer: the pages show them disabled with the reason, the API lists them."""
    if not may_see_instance(actor, row):
        return {}
    return shar_features.unavailable(_repairs(actor, row))


def _workflow_actions(actor: Actor, workflow: Workflow) -> frozenset[str]:
    """`workflow` is a name's newest version: any writer launches it once it is active, unless it is a
    diagram only (launchable.diagram_only); its owner or an admin adds versions, deletes it (active or
    failed), retries a failed create and reads the job behind it; an admin hands it over."""
    owner_id = owner_id_of(workflow)
    owns = may_change_workflow(actor, owner_id)
    return _chosen(
        {
            "launch": actor.can_write and workflow.status == WorkflowStatus.ACTIVE and not diagram_only(workflow),
            "upload": owns,
            "delete": owns and workflow.status in (WorkflowStatus.ACTIVE, WorkflowStatus.FAILED),
            "transfer": actor.is_admin,
            "retry": workflow.status == WorkflowStatus.FAILED and may_retry(actor, owner_id),
            "see_job": may_read_jobs_of(actor, owner_id),
        }
    )


def _job_actions(actor: Actor, job: JobRecord) -> frozenset[str]:
    """Jobs are the admins': they open its page, retry or delete a failed one, and correct the
    variables of a failed launch whose instance failed with it."""
    if not actor.is_admin:
        return frozenset()
    failed = job.state == JobState.FAILED
    return _chosen(
        {"open": True, "retry": failed, "delete": failed, "correct_and_retry": failed and _launch_failed(job)}
    )


def _view_actions(actor: Actor, view: SavedView) -> frozenset[str]:
    if not may_see_view(actor, view):
        return frozenset()
    changes = may_change_view(actor, view)
    return _chosen(
        {
            "open": True,
            "rename": changes,
            "delete": changes,
            "publish": actor.is_admin and not view.published,
            "unpublish": actor.is_admin and view.published,
        }
    )


def _launch_failed(job: JobRecord) -> bool:
    if job.job_type != "launch_instance":
        return False
    instance = db.session.get(WorkflowInstance, job.target_id)
    return instance is not None and instance.status == InstanceStatus.FAILED


def actions_key(actor: Actor) -> str:
    """What allowed_actions reads of the actor beyond the row's own state and owner: a cached answer
    carrying the set adds it to its version, so a changed role (or a SHAR call found not offered) is
    not answered from the cache."""
    return f"{actor.role}:{actor.id}:{shar_features.key()}"


def _chosen(offers: dict[str, bool]) -> frozenset[str]:
    return frozenset(name for name, allowed in offers.items() if allowed)
