"""Who hears about what: the creator of an instance or workflow, when it ends."""

from __future__ import annotations

from typing import Any

from app.lifecycle import events
from app.models import Workflow, WorkflowInstance
from app.notifications.in_app import notify
from app.notifications.links import instance_path, workflow_path


def on_instance_completed(instance: WorkflowInstance, **_: Any) -> None:
    name = instance.workflow.name
    duration = instance.duration_seconds
    notify(
        instance.created_by,
        kind="instance_completed",
        target_type="instance",
        target_id=instance.id,
        title=f"Workflow Instance Completed: {name}",
        body=f"Instance {instance.id} of {name} completed"
        + (f" in {duration:.0f} s." if duration is not None else "."),
        link=instance_path(instance.id),
    )


def on_instance_failed(instance: WorkflowInstance, *, error_message: str, **_: Any) -> None:
    name = instance.workflow.name
    notify(
        instance.created_by,
        kind="instance_failed",
        target_type="instance",
        target_id=instance.id,
        title=f"Workflow Instance Failed: {name}",
        body=f"Instance {instance.id} of {name} failed: {error_message}",
        link=instance_path(instance.id),
    )


def on_workflow_creation_failed(workflow: Workflow, *, error_message: str, **_: Any) -> None:
    notify(
        workflow.created_by,
        kind="workflow_failed",
        target_type="workflow",
        target_id=workflow.id,
        title=f"Workflow Creation Failed: {workflow.name}",
        body=f"Version {workflow.version} of {workflow.name} could not be created in SHAR: {error_message}",
        link=workflow_path(workflow.name),
    )


def connect() -> None:
    events.instance_completed.connect(on_instance_completed)
    events.instance_failed.connect(on_instance_failed)
    events.instance_launch_failed.connect(on_instance_failed)
    events.workflow_creation_failed.connect(on_workflow_creation_failed)
