"""Callbacks as listeners: when an operation ends, its callback URL (if any) is called once."""

from __future__ import annotations

from typing import Any

from app.lifecycle import events
from app.models import Workflow, WorkflowInstance
from app.webhooks.delivery import schedule_delivery
from app.webhooks.payload import launch_payload, sync_payload, workflow_payload


def on_workflow_created(workflow: Workflow, **_: Any) -> None:
    if workflow.callback_url:
        _send(workflow.callback_url, workflow_payload(workflow), "workflow", workflow.id)


def on_workflow_creation_failed(workflow: Workflow, *, error_message: str, **_: Any) -> None:
    if workflow.callback_url:
        _send(workflow.callback_url, workflow_payload(workflow, error=error_message), "workflow", workflow.id)


def on_instance_launched(instance: WorkflowInstance, *, shar_response: dict[str, Any] | None = None, **_: Any) -> None:
    if instance.callback_url:
        _send(instance.callback_url, launch_payload(instance, shar_response=shar_response), "instance", instance.id)


def on_instance_launch_failed(instance: WorkflowInstance, *, error_message: str, **_: Any) -> None:
    if instance.callback_url:
        _send(instance.callback_url, launch_payload(instance, error=error_message), "instance", instance.id)


def on_instance_synced(
    instance: WorkflowInstance, *, previous_status: str, new_status: str, callback_url: str | None = None, **_: Any
) -> None:
    if callback_url:
        _send(
            callback_url,
            sync_payload(instance, previous_status=previous_status, new_status=new_status),
            "instance",
            instance.id,
        )


def on_instance_sync_failed(
    instance: WorkflowInstance, *, error_message: str, callback_url: str | None = None, **_: Any
) -> None:
    if callback_url:
        _send(callback_url, sync_payload(instance, error=error_message), "instance", instance.id)


def _send(url: str, payload: dict[str, Any], target_type: str, target_id: str | int) -> None:
    schedule_delivery(url, payload, target_type=target_type, target_id=target_id)


def connect() -> None:
    events.workflow_created.connect(on_workflow_created)
    events.workflow_creation_failed.connect(on_workflow_creation_failed)
    events.instance_launched.connect(on_instance_launched)
    events.instance_launch_failed.connect(on_instance_launch_failed)
    events.instance_synced.connect(on_instance_synced)
    events.instance_sync_failed.connect(on_instance_sync_failed)
