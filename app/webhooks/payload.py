"""The seed's callback payloads."""

from __future__ import annotations

from typing import Any

from app.core.serializers import instance_dict, workflow_dict
from app.models import Workflow, WorkflowInstance
from app.models._base import iso, utcnow


def workflow_payload(workflow: Workflow, *, error: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"workflow": workflow_dict(workflow)}
    if error is None:
        data["shar_response"] = workflow.shar_response
    else:
        data["error"] = error
    return _envelope("create_workflow", {"workflow_name": workflow.name}, workflow.id, error, data)


def launch_payload(
    instance: WorkflowInstance, *, shar_response: dict[str, Any] | None = None, error: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"instance": instance_dict(instance)}
    if error is None:
        data["shar_response"] = shar_response
    else:
        data["error"] = error
    return _envelope("launch_instance", {"workflow_name": instance.workflow.name}, instance.id, error, data)


def sync_payload(
    instance: WorkflowInstance,
    *,
    previous_status: str | None = None,
    new_status: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"instance": instance_dict(instance)}
    if error is None:
        data.update(previous_status=previous_status, new_status=new_status)
    else:
        data["error"] = error
    return _envelope("sync_instance", {"instance_id": instance.id}, instance.id, error, data)


def _envelope(
    job_type: str, target: dict[str, Any], request_id: int | str, error: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "job_type": job_type,
        **target,
        "request_id": request_id,
        "status": "failed" if error is not None else "success",
        "data": data,
        "timestamp": iso(utcnow()),
    }
