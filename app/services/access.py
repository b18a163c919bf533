"""Visibility and permission, decided once: who sees which rows, who may change what.

    role     sees                                  may change
    admin    everything                            everything, and runs the admin pages
    viewer   every workflow and instance           nothing
    user     every workflow; their own instances   their own instances; the workflow
                                                   names they own (new versions, delete)

A bulk operation is seen by whoever started it and by admins. A failed launch or workflow create
is retried by the row's owner (an instance's creator, a workflow name's owner) or an admin, and
the attempts of the job behind it are theirs to read; viewers read no job and retry nothing.

Services call these before acting; front doors never check roles themselves.
"""
from __future__ import annotations

from sqlalchemy import Select, select

from app.errors import NotFound, PermissionDenied
from app.extensions import db
from app.models import BulkOperation, Notification, WorkflowInstance, WorkflowName
from app.services.actors import Actor


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


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin may do this")


def require_workflow_owner(actor: Actor, name: str, owner_id: int | None, owner_email: str | None) -> None:
    """Only the owner of a workflow name, or an admin, may add versions to it or delete it."""
    require_writer(actor)
    if may_change_workflow(actor, owner_id):
        return
    owner = owner_email or "an admin"
    raise PermissionDenied(f"workflow {name!r} belongs to {owner}: only its owner or an admin may add "
                           "versions to it or delete it")


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
