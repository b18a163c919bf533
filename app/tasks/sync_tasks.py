"""Jobs that read instances back from SHAR, fan out the periodic sync, and clean up."""

from __future__ import annotations

from app.core.config import current_settings
from app.jobs.specs import JobSpec, spec_for
from app.models import JobRecord
from app.services import sync, untracked
from app.services.cleanup import daily_cleanup


def sync_instance(job: JobRecord) -> None:
    sync.sync_from_shar(job.target_id, job.payload.get("callback_url"))


def sync_failed(job: JobRecord, exc: BaseException) -> None:
    sync.sync_failed(job.target_id, job.last_error or str(exc), job.payload.get("callback_url"))


def sync_instances(job: JobRecord) -> None:
    # Half the attempt's time limit: the rest of a batch SHAR answers slowly goes on in a new job.
    budget = spec_for(sync.SYNC_BATCH).effective_timeout(current_settings()) / 2
    outcome = sync.sync_batch(job.payload["instance_ids"], since=job.created_at, budget_seconds=budget, queue=job.queue)
    job.payload = {**job.payload, **outcome}  # the instances that failed alone, named on the job too


def sync_instances_failed(job: JobRecord, exc: BaseException) -> None:
    sync.sync_batch_failed(job.payload["instance_ids"], since=job.created_at, error=job.last_error or str(exc))


def periodic_sync(job: JobRecord) -> None:
    # The lease lasts as long as this job may: a killed run frees it by itself.
    outcome = sync.periodic_sync(spec_for("periodic_sync").effective_timeout(current_settings()))
    job.payload = {**job.payload, **outcome}


def cleanup(job: JobRecord) -> None:
    settings = current_settings()
    days = int(job.payload.get("days", settings.cleanup_days))
    statuses = job.payload.get("statuses") or list(settings.cleanup_statuses)
    job.payload = {**job.payload, "deleted": daily_cleanup(days, statuses)}


def scan_shar_instances(job: JobRecord) -> None:
    job.payload = {**job.payload, **untracked.scan_shar_instances()}


SPECS = (
    JobSpec(sync.SYNC_ONE, "shar_sync_queue", 2, (5, 15), 120, sync_instance, on_failure=sync_failed, needs_shar=True),
    JobSpec(
        sync.SYNC_BATCH,
        "shar_sync_queue",
        2,
        (5, 15),
        120,
        sync_instances,
        on_failure=sync_instances_failed,
        needs_shar=True,
    ),
    JobSpec("periodic_sync", "shar_sync_queue", 1, (), 120, periodic_sync),
    JobSpec("cleanup", "shar_sync_queue", 1, (), 300, cleanup),
    JobSpec("scan_shar_instances", "shar_sync_queue", 2, (5, 15), 120, scan_shar_instances, needs_shar=True),
)
