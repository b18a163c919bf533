"""Finding workflows and instances by name or id, with the caller's visibility applied."""
from __future__ import annotations

from sqlalchemy import Select, func, select

from app.errors import NotFound
from app.extensions import db
from app.models import User, Workflow, WorkflowInstance


def latest_workflow(name: str) -> Workflow | None:
    """The newest version of workflow `name`, or None."""
    return db.session.scalars(
        select(Workflow).where(Workflow.name == name).order_by(Workflow.version.desc()).limit(1)
    ).first()


def get_workflow(name: str) -> Workflow:
    workflow = latest_workflow(name)
    if workflow is None:
        raise NotFound(f"no workflow named {name!r}")
    return workflow


def get_workflow_by_id(workflow_id: int) -> Workflow:
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None:
        raise NotFound(f"no workflow with id {workflow_id}")
    return workflow


def latest_versions_query() -> Select[tuple[Workflow]]:
    """One row per workflow name: its newest version."""
    newest = (select(Workflow.name, func.max(Workflow.version).label("version"))
              .group_by(Workflow.name).subquery())
    return select(Workflow).join(newest, (Workflow.name == newest.c.name) & (Workflow.version == newest.c.version))


def visible_instances(user: User | None) -> Select[tuple[WorkflowInstance]]:
    """Instances `user` may see: their own, or all for admins and viewers (None: all, for the CLI)."""
    query = select(WorkflowInstance)
    if user is not None and user.role == "user":
        query = query.where(WorkflowInstance.created_by == user.id)
    return query


def get_instance(instance_id: str, user: User | None = None) -> WorkflowInstance:
    """The instance, if it exists and `user` may see it; NotFound otherwise (no existence leak)."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None or (user is not None and user.role == "user" and instance.created_by != user.id):
        raise NotFound(f"no instance {instance_id}")
    return instance
