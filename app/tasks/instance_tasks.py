"""Jobs that launch instances, complete their waiting tasks, deliver their messages, repair them (move
their token, change their variables) and migrate them to another version in SHAR, and the bulk
operations that sync, cancel, retry or migrate many instances."""

from __future__ import annotations

from app.core.config import current_settings
from app.jobs.runner import previous_try_end
from app.jobs.specs import AfterCommit, JobSpec, Together, spec_for
from app.models import JobRecord
from app.services import bulk_work, instance_work, migration_work, repair_work


def launch_instance(job: JobRecord) -> AfterCommit | None:
    tried_until = previous_try_end(job) if job.tried_before else None
    return instance_work.launch_in_shar(job.target_id, tries_before=job.tries_before, tried_until=tried_until)


def launch_failed(job: JobRecord, exc: BaseException) -> None:
    tries = job.attempts + (job.held_tries or 0)
    instance_work.launch_failed(job.target_id, job.last_error or str(exc), tries=tries)


def launch_retried(job: JobRecord) -> None:
    instance_work.launch_retried(job.target_id)


def complete_task(job: JobRecord) -> None:
    instance_work.complete_task_in_shar(
        job.target_id,
        job.payload.get("variables"),
        waiting_at=job.payload.get("waiting_at") or (),
        retry=job.tried_before,
    )


def complete_failed(job: JobRecord, exc: BaseException) -> None:
    instance_work.act_failed(job.target_id, "the task completion", job.last_error or str(exc))


def completion_retried(job: JobRecord) -> None:
    instance_work.completion_retried(job.target_id)


def deliver_message(job: JobRecord) -> None:
    instance_work.deliver_message_in_shar(
        job.target_id,
        job.payload["name"],
        job.payload.get("variables"),
        waiting_at=job.payload.get("waiting_at") or (),
        retry=job.tried_before,
    )


def delivery_failed(job: JobRecord, exc: BaseException) -> None:
    instance_work.act_failed(
        job.target_id, f"the delivery of message {job.payload.get('name')}", job.last_error or str(exc)
    )


def move_instance(job: JobRecord) -> None:
    payload = job.payload
    repair_work.move_in_shar(
        job.target_id,
        payload["from"],
        payload["to"],
        payload.get("variables"),
        by=payload.get("by"),
        retry=job.tried_before,
    )


def move_failed(job: JobRecord, exc: BaseException) -> None:
    repair_work.repair_failed(job.target_id, "move", job.last_error or str(exc), exc)


def set_instance_variables(job: JobRecord) -> None:
    payload = job.payload
    repair_work.set_variables_in_shar(job.target_id, payload["set"], payload.get("remove") or (), by=payload.get("by"))


def set_variables_failed(job: JobRecord, exc: BaseException) -> None:
    repair_work.repair_failed(job.target_id, "variables", job.last_error or str(exc), exc)


def migrate_instance(job: JobRecord) -> None:
    migration_work.migrate_in_shar(job.target_id, job.payload, retry=job.tried_before)


def migration_failed(job: JobRecord, exc: BaseException) -> None:
    migration_work.migration_failed(job.target_id, job.payload.get("workflow_id"), job.last_error or str(exc), exc)


BULK_BUDGET_SHARE = 0.5  # of an attempt's time limit: past it, the rest of the operation goes on in a new job


def bulk_operation(job: JobRecord) -> None:
    # The lease lasts as long as this attempt may: a killed run frees it by itself.
    limit = spec_for("bulk_operation").effective_timeout(current_settings())
    rest = bulk_work.run_bulk(int(job.target_id), limit, budget_seconds=limit * BULK_BUDGET_SHARE)
    if rest is not None:
        job.payload = {**job.payload, "continued_in": rest.id}


def bulk_operation_failed(job: JobRecord, exc: BaseException) -> None:
    bulk_work.bulk_failed(int(job.target_id), job.last_error or str(exc))


SPECS = (
    JobSpec(
        "launch_instance",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        launch_instance,
        on_failure=launch_failed,
        on_retry=launch_retried,
        needs_shar=True,
        # Answers written in the order of their versions' counts rows, which each answer locks.
        together=Together(
            instance_work.first_launches,
            instance_work.send_launch,
            instance_work.apply_first_launch,
            order=lambda request: (request.instance.workflow_id, request.instance.id),
        ),
    ),
    JobSpec(
        "complete_task",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        complete_task,
        on_failure=complete_failed,
        on_retry=completion_retried,
        needs_shar=True,
    ),
    JobSpec(
        "deliver_message",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        deliver_message,
        on_failure=delivery_failed,
        needs_shar=True,
    ),
    # A repair that SHAR answers as not offered (a permanent error) fails at once, without retries.
    JobSpec(
        "move_instance",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        move_instance,
        on_failure=move_failed,
        needs_shar=True,
    ),
    JobSpec(
        "migrate_instance",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        migrate_instance,
        on_failure=migration_failed,
        needs_shar=True,
    ),
    JobSpec(
        "set_instance_variables",
        "shar_instance_queue",
        3,
        (5, 15, 30),
        300,
        set_instance_variables,
        on_failure=set_variables_failed,
        needs_shar=True,
    ),
    # Resumable: each attempt goes on from the last instance the one before committed; an attempt
    # out of time, or stopped after some progress, hands the rest to a new job (its payload names it).
    JobSpec(
        "bulk_operation", "shar_instance_queue", 5, (5, 15, 30), 600, bulk_operation, on_failure=bulk_operation_failed
    ),
)
