"""The JSON shapes of workflows, instances, jobs and bulk operations, shared by the API, callbacks and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.models import BulkOperation, JobRecord, Workflow, WorkflowInstance
from app.models._base import iso
from app.services.element_names import names_of

if TYPE_CHECKING:
    from app.services.bulk import BulkPreview
    from app.services.repairs import MovePreview, VariableEdit


def workflow_dict(workflow: Workflow, *, with_bpmn: bool = False, waiting_for_shar: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": workflow.id,
        "name": workflow.name,
        "version": workflow.version,
        "description": workflow.description,
        "status": workflow.status,
        "error": workflow.error,
        "summary": workflow.summary,
        "created_by": workflow.created_by,
        "created_at": iso(workflow.created_at),
        "updated_at": iso(workflow.updated_at),
        "activated_at": iso(workflow.activated_at),
        # Its creation (or deletion) is held until SHAR is reachable again (services.outages).
        "waiting_for_shar": waiting_for_shar,
    }
    if with_bpmn:
        data["bpmn_xml"] = workflow.bpmn_xml
    return data


def instance_dict(instance: WorkflowInstance, *, waiting_for_shar: bool = False) -> dict[str, Any]:
    return {
        "id": instance.id,
        "workflow_name": instance.workflow.name,
        "workflow_version": instance.workflow.version,
        "shar_instance_id": instance.shar_instance_id,
        "process_id": instance.process_id,
        "start_message": instance.start_message,
        "status": instance.status,
        "variables": instance.variables,
        "current_activities": instance.current_activities,
        # Beside the ids, what a person reads for them: each one's name in the file, null when it has none.
        "current_activity_names": names_of(instance.workflow).names_of(instance.current_activities),
        "error": instance.error,
        "created_by": instance.created_by,
        "launch_requests": instance.launch_requests,
        "created_at": iso(instance.created_at),
        "launched_at": iso(instance.launched_at),
        "completed_at": iso(instance.completed_at),
        "last_synced_at": iso(instance.last_synced_at),
        "duration_seconds": instance.duration_seconds,
        "duration_clock": instance.duration_clock,
        "shar_created_at": iso(instance.shar_created_at),
        "shar_completed_at": iso(instance.shar_completed_at),
        # Its launch, completion, message or sync is held until SHAR is reachable again (services.outages).
        "waiting_for_shar": waiting_for_shar,
    }


def job_dict(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_type": job.job_type,
        "queue": job.queue,
        "target_type": job.target_type,
        "target_id": job.target_id,
        "state": job.state,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "last_error": job.last_error,
        "enqueue_error": job.enqueue_error,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "next_attempt_at": iso(job.next_attempt_at),
        "finished_at": iso(job.finished_at),
        "held_since": iso(job.held_since),
    }


def bulk_preview_dict(preview: BulkPreview) -> dict[str, Any]:
    return {
        **{
            name: getattr(preview, name)
            for name in ("action", "filter", "count", "matched", "skipped", "applies_to", "fingerprint")
        },
        "sample": [instance_dict(i) for i in preview.sample],
        "parameters": preview.parameters,
        # An action's own detail about the set (a migration: who can move and why not, the mapping form).
        "detail": preview.detail.to_dict() if preview.detail is not None else None,
    }


def bulk_operation_dict(operation: BulkOperation) -> dict[str, Any]:
    return {
        **{
            name: getattr(operation, name)
            for name in (
                *("id", "action", "filter", "parameters", "state"),
                *("total", "done", "failed", "skipped", "errors"),
            )
        },
        "requested_by": operation.requested_by_name,
        **{name: iso(getattr(operation, name)) for name in ("created_at", "updated_at", "finished_at")},
    }


def move_preview_dict(preview: MovePreview) -> dict[str, Any]:
    """A move's preview: the elements it leaves and enters (with their names), the variables it keeps and sets."""
    names = preview.names
    return {
        "instance_id": preview.instance.id,
        "from": list(preview.left),
        "to": preview.to,
        "left": list(preview.left),
        "left_names": names.names_of(preview.left),
        "entered": list(preview.entered),
        "entered_names": names.names_of(preview.entered),
        "variables_kept": list(preview.kept),
        "variables_set": preview.set_,
        "runs_again": preview.runs_again,
        "summary": preview.summary,
    }


def variable_edit_dict(edit: VariableEdit) -> dict[str, Any]:
    """A variable edit's old -> new diff."""
    return {
        "instance_id": edit.instance.id,
        "set": edit.set_,
        "remove": list(edit.remove),
        "added": edit.added,
        "changed": {name: {"old": old, "new": new} for name, (old, new) in edit.changed.items()},
        "removed": edit.removed,
        "unchanged": edit.unchanged,
        "summary": edit.summary,
    }
