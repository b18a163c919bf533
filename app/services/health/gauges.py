"""The gauges of a /metrics scrape: the whole system's queues, jobs, instances and SHAR's stored
health, read when Prometheus scrapes; the counters beside them are written by the processes
doing the work (app.core.metrics)."""

from __future__ import annotations

from app.core.config import current_settings
from app.jobs.queues import current_queues
from app.lifecycle.states import OPEN_JOB_STATES
from app.models._base import utcnow
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.health.shar import last_shar_health
from app.services.monitoring import instance_counts, job_counts

Gauge = tuple[str, str, list[tuple[dict[str, str], float]]]


def scrape_gauges(*, actor: Actor) -> list[Gauge]:
    """Queue depth and the oldest open job per queue, open jobs by state, instances by status,
    SHAR's last stored health; a queue whose storage cannot be read is left out of the depth."""
    require_admin(actor)
    settings = current_settings()
    depth: list[tuple[dict[str, str], float]] = []
    for name in settings.queue_names:
        try:
            counts = current_queues().counts(name)
        except Exception:  # noqa: BLE001 - readiness says why; the scrape still answers
            continue
        depth += [({"queue": name, "kind": kind}, float(value)) for kind, value in counts.items()]
    now = utcnow()
    open_jobs = job_counts(OPEN_JOB_STATES)
    oldest: dict[str, float] = {}
    for row in open_jobs:
        oldest[row.queue] = max(oldest.get(row.queue, 0.0), (now - row.oldest_created_at).total_seconds(), 0.0)
    health, checked_at = last_shar_health()
    gauges: list[Gauge] = [
        ("sharboard_queue_depth", "Messages waiting in each queue's storage (pending, scheduled)", depth),
        (
            "sharboard_queue_oldest_job_age_seconds",
            "Age of the oldest open (queued, running, retrying) job",
            [({"queue": q}, age) for q, age in sorted(oldest.items())],
        ),
        (
            "sharboard_jobs_open",
            "Open job records by queue and state",
            [({"queue": r.queue, "state": r.state}, float(r.count)) for r in open_jobs],
        ),
        (
            "sharboard_instances",
            "Workflow instances by status",
            [({"status": status}, float(n)) for status, n in instance_counts().items()],
        ),
    ]
    if health is not None and checked_at is not None:
        gauges.append(
            (
                "sharboard_shar_healthy",
                "SHAR's health as the scheduler last checked it (1 healthy)",
                [({}, 1.0 if health.get("healthy") is True else 0.0)],
            )
        )
        gauges.append(
            (
                "sharboard_shar_health_age_seconds",
                "Seconds since SHAR's health was last checked",
                [({}, max((now - checked_at).total_seconds(), 0.0))],
            )
        )
    return gauges
