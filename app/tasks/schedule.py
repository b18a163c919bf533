"""What the scheduler starts, and when: the periodic entries, each a call to a service."""

from __future__ import annotations

from datetime import time

from app.core.config import Settings
from app.jobs.dispatch import submit
from app.jobs.reconcile import reconcile
from app.jobs.release import release_held
from app.jobs.scheduler import Periodic, daily_at, every
from app.services.failed_jobs import prune_finished
from app.services.health.shar import check_shar_health, health_due
from app.services.sync import submit_periodic_sync
from app.services.trends import sample_queues


def _cleanup(settings: Settings) -> object:
    return submit(
        "cleanup",
        target_type="system",
        target_id="cleanup",
        payload={"days": settings.cleanup_days, "statuses": list(settings.cleanup_statuses)},
    )


ENTRIES: tuple[Periodic, ...] = (
    Periodic("schedule:shar_health", health_due, lambda s: check_shar_health()["status"]),
    Periodic("schedule:release_held", every(lambda s: 1.0), lambda s: release_held()),
    Periodic("schedule:periodic_sync", every(lambda s: s.shar_sync_interval), lambda s: submit_periodic_sync()),
    Periodic("schedule:reconcile", every(lambda s: s.reconcile_interval), lambda s: reconcile()),
    Periodic("schedule:sample_queues", every(lambda s: 60.0), lambda s: sample_queues()),
    Periodic("schedule:cleanup", daily_at(time(2, 0)), _cleanup),
    Periodic("schedule:prune_jobs", daily_at(time(3, 0)), lambda s: prune_finished(s.job_retention_days)),
)
