"""Launching, completing, cancelling instances and editing their variables; the jobs that call SHAR."""
from __future__ import annotations

from typing import Any

from app.config import current_settings
from app.errors import Conflict, InvalidInput, NotFound
from app.events import fire, instance_launch_failed, instance_launched
from app.extensions import db
from app.jobs.dispatch import submit
from app.jobs.specs import job
from app.models import JobRecord, User, WorkflowInstance
from app.models._base import utcnow
from app.services.lookups import get_instance, latest_workflow
from app.services.workflows import check_callback
from app.shar import current_client
from app.status import change_status, record_activity


def launch_instance(workflow_name: str, variables: Any = None, *, created_by: int | None = None,
                    callback_url: str | None = None, async_: bool | None = None) -> WorkflowInstance:
    """Store a `launching` placeholder with a new UUID and launch it in SHAR (in a job by default)."""
    variables = check_variables(variables)
    callback_url = check_callback(callback_url)
    workflow = latest_workflow(workflow_name)
    if workflow is None:
        raise NotFound(f"no workflow named {workflow_name!r}")
    if workflow.status != "active":
        raise Conflict(f"workflow {workflow_name!r} is {workflow.status}; only an active workflow can be launched")
    instance = WorkflowInstance(workflow=workflow, status="launching", variables=variables,
                                created_by=created_by, callback_url=callback_url)
    db.session.add(instance)
    db.session.flush()
    record_activity(instance, "placeholder_created", f"launch of {workflow.name} v{workflow.version} queued")
    async_ = current_settings().shar_async_enabled if async_ is None else async_
    submit("launch_instance", target_type="instance", target_id=instance.id, created_by=created_by,
           inline=not async_)
    db.session.refresh(instance)
    return instance


def complete_task(instance_id: str, *, user: User | None = None, variables: Any = None) -> JobRecord:
    """Queue the completion of the instance's waiting task; Conflict when nothing waits."""
    instance = get_instance(instance_id, user)
    variables = check_variables(variables)
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}; only a running instance has a task to complete")
    waiting = waiting_user_tasks(instance)
    if not waiting:
        raise Conflict(f"instance {instance.id} is not waiting at a user task")
    record_activity(instance, "completion_requested", f"completion of {', '.join(waiting)} requested",
                    by=user.email if user else None)
    return submit("complete_instance", target_type="instance", target_id=instance.id,
                  created_by=user.id if user else None, payload={"variables": variables})


def cancel_instance(instance_id: str, *, user: User | None = None) -> WorkflowInstance:
    """Stop tracking an instance: the SHAR gateway has no cancel call, so this is sharboard's own."""
    instance = get_instance(instance_id, user)
    if not change_status(instance, "cancelled", message=f"cancelled by {user.email if user else 'the CLI'}"):
        raise Conflict(f"instance {instance.id} changed while cancelling; try again")
    return instance


def update_variables(instance_id: str, variables: Any, *, user: User | None = None) -> WorkflowInstance:
    """Merge `variables` into an instance not yet in SHAR (launching, or failed before launch)."""
    instance = get_instance(instance_id, user)
    variables = check_variables(variables)
    if instance.status not in ("launching", "failed") or instance.shar_instance_id:
        raise Conflict(f"instance {instance.id} is {instance.status} in SHAR; SHAR offers no way to change "
                       "the variables of a launched instance")
    before = dict(instance.variables)
    instance.variables = {**before, **variables}
    record_activity(instance, "variables_changed", "variables changed", before=before, after=instance.variables,
                    by=user.email if user else None)
    db.session.commit()
    return instance


def check_variables(variables: Any) -> dict[str, Any]:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput.field("variables", "variables must be a JSON object")
    return variables


def waiting_user_tasks(instance: WorkflowInstance) -> list[str]:
    """The current activities that wait for a person (user or manual tasks)."""
    people = set(instance.workflow.summary.get("user_task_ids", ()))
    return [a for a in instance.current_activities or () if a in people]


# -- jobs ------------------------------------------------------------------------------

def _instance(job_record: JobRecord) -> WorkflowInstance:
    instance = db.session.get(WorkflowInstance, job_record.target_id)
    if instance is None:
        raise NotFound(f"instance {job_record.target_id} no longer exists")
    return instance


def _launch_failed(job_record: JobRecord, exc: BaseException) -> None:
    instance = _instance(job_record)
    if change_status(instance, "failed", error=str(exc)):
        fire(instance_launch_failed, instance, error_message=str(exc))


def _launch_retry(job_record: JobRecord) -> None:
    instance = _instance(job_record)
    if instance.status == "failed":
        change_status(instance, "launching", error=None, completed_at=None, message="retried by an operator")


@job("launch_instance", queue="shar_instance_queue", attempts=3, waits=(5, 15, 30), timeout=300,
     on_failure=_launch_failed, on_retry=_launch_retry)
def launch_in_shar(job_record: JobRecord) -> None:
    """Launch the instance in SHAR; each request is counted before it is sent."""
    instance = _instance(job_record)
    if instance.status != "launching":
        return
    if instance.launch_requests:
        # The earlier request may have reached SHAR; say so rather than hide a possible duplicate.
        record_activity(instance, "launch_resent",
                        f"launch request {instance.launch_requests + 1} sent; an earlier request's outcome is unknown")
    instance.launch_requests += 1
    db.session.commit()
    answer = current_client().launch_instance(instance.workflow.name, instance.variables)
    now = utcnow()
    if change_status(instance, "running", shar_instance_id=answer.id, launched_at=now, last_synced_at=now,
                     current_activities=list(answer.current_activities or ()), variables=answer.variables or instance.variables):
        fire(instance_launched, instance, shar_response=answer.raw)


@job("complete_instance", queue="shar_instance_queue", attempts=3, waits=(5, 15, 30), timeout=300)
def complete_in_shar(job_record: JobRecord) -> None:
    """Complete the waiting task in SHAR, then sync at once so the new state shows."""
    from app.services.sync import queue_sync

    instance = _instance(job_record)
    if instance.status != "running":
        return
    current_client().complete_instance(instance.shar_instance_id, job_record.payload.get("variables") or None)
    record_activity(instance, "task_completed", "waiting task completed in SHAR")
    db.session.commit()
    queue_sync(instance.id)


def retry_launch_with_variables(job_id: int, variables: Any, *, actor: User | None = None) -> JobRecord:
    """Correct a failed launch's variables and retry it; the change is audited and on the timeline."""
    from app.jobs.admin import retry_job
    from app.services.audit import audit

    record = db.session.get(JobRecord, job_id)
    if record is None or record.job_type != "launch_instance":
        raise NotFound(f"no failed launch job {job_id}")
    instance = _instance(record)
    variables = check_variables(variables)
    if instance.status != "failed" or instance.shar_instance_id:
        raise Conflict(f"instance {instance.id} is {instance.status}; only a failed launch can be corrected")
    before = dict(instance.variables)
    instance.variables = variables
    record_activity(instance, "variables_corrected", "variables corrected before a retry",
                    before=before, after=variables, by=actor.email if actor else None)
    audit(actor, "launch.correct_and_retry", "instance", instance.id, before={"variables": before},
          after={"variables": variables})
    db.session.commit()
    return retry_job(job_id)
