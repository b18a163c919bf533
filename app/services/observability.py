"""What a load balancer and Prometheus read: readiness checks and the gauges of a scrape.

Readiness asks the database and the queues' storage now, and reads SHAR's health as the
scheduler last stored it (a web request never calls SHAR, and a slow SHAR must not make the
check itself slow). The gauges are read when /metrics is scraped; the counters behind them
are written by the processes doing the work (app.metrics).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.config import current_settings
from app.extensions import db
from app.models._base import utcnow
from app.queues import current_queues
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.health import last_shar_health
from app.services.monitoring import instance_counts, job_counts
from app.states import OPEN_JOB_STATES

# The scheduler checks SHAR every 15 s: older than this, the stored answer says nothing.
SHAR_CHECK_FRESH = timedelta(seconds=60)

Gauge = tuple[str, str, list[tuple[dict[str, str], float]]]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def readiness() -> list[Check]:
    """The database, the queues' storage and SHAR's last stored health, each ok or why not."""
    checks = [_check("database", _database), _check("queues", _queues)]
    health, checked_at = _stored_health()
    if health is None:
        checks.append(Check("shar", False, "SHAR's health was never checked (is the scheduler running?)"))
    elif checked_at is None or utcnow() - checked_at > SHAR_CHECK_FRESH:
        checks.append(Check("shar", False, f"SHAR's health was last checked at {checked_at:%Y-%m-%d %H:%M:%S} UTC "
                                           "(is the scheduler running?)"))
    else:
        healthy = health.get("healthy") is True
        checks.append(Check("shar", healthy, "healthy" if healthy else f"SHAR is {health.get('status', 'unknown')}"))
    return checks


def _check(name: str, probe: Any) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # noqa: BLE001 - any failure is the answer; the reason names its kind only
        db.session.rollback()
        return Check(name, False, f"unreachable ({exc.__class__.__name__})")


def _database() -> str:
    db.session.execute(text("SELECT 1"))
    return "reachable"


def _queues() -> str:
    queues = current_queues()
    for name in queues.names:
        queues.counts(name)
    return "reachable"


def _stored_health() -> tuple[dict[str, Any] | None, Any]:
    try:
        return last_shar_health()
    except Exception:  # noqa: BLE001 - the database check reports a database that is down
        db.session.rollback()
        return None, None


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
        ("sharboard_queue_oldest_job_age_seconds", "Age of the oldest open (queued, running, retrying) job",
         [({"queue": q}, age) for q, age in sorted(oldest.items())]),
        ("sharboard_jobs_open", "Open job records by queue and state",
         [({"queue": r.queue, "state": r.state}, float(r.count)) for r in open_jobs]),
        ("sharboard_instances", "Workflow instances by status",
         [({"status": status}, float(n)) for status, n in instance_counts().items()]),
    ]
    if health is not None and checked_at is not None:
        gauges.append(("sharboard_shar_healthy", "SHAR's health as the scheduler last checked it (1 healthy)",
                       [({}, 1.0 if health.get("healthy") is True else 0.0)]))
        gauges.append(("sharboard_shar_health_age_seconds", "Seconds since SHAR's health was last checked",
                       [({}, max((now - checked_at).total_seconds(), 0.0))]))
    return gauges
