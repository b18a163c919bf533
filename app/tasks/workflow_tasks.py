"""Jobs that create and remove workflows in SHAR."""

from __future__ import annotations

from app.jobs.specs import AfterCommit, JobSpec
from app.models import JobRecord
from app.services import workflows


def create_workflow(job: JobRecord) -> AfterCommit | None:
    # A re-send when an earlier try may have reached SHAR (a counted attempt, or a held one).
    return workflows.create_in_shar(int(job.target_id), resend=job.tried_before)


def creation_failed(job: JobRecord, exc: BaseException) -> None:
    workflows.creation_failed(int(job.target_id), job.last_error or str(exc))


def creation_retried(job: JobRecord) -> None:
    workflows.creation_retried(int(job.target_id))


def delete_workflow(job: JobRecord) -> None:
    workflows.delete_in_shar(job.payload["name"])


SPECS = (
    JobSpec(
        "create_workflow",
        "shar_workflow_queue",
        3,
        (10, 30, 60),
        300,
        create_workflow,
        on_failure=creation_failed,
        on_retry=creation_retried,
        needs_shar=True,
    ),
    JobSpec("delete_workflow", "shar_workflow_queue", 3, (10, 30, 60), 300, delete_workflow, needs_shar=True),
)
