"""SHAR's health: checked by the scheduler and stored, so pages never wait on SHAR; asked
directly only by the CLI's `health` command."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from app.core.config import Settings, current_settings
from app.core.extensions import db
from app.jobs import outage
from app.models import SharHealthCheck
from app.models._base import utcnow
from app.services.actors import Actor
from app.shar import client_for

CHECK_NAME = "shar"
HEALTH_INTERVAL = 15.0
logger = logging.getLogger("sharboard.shar.outage")


def check_shar_health() -> dict[str, Any]:
    """Ask SHAR (from the scheduler) and store the answer for the pages; it also opens or closes the
    outage breaker (app.jobs.outage), which only this probe closes."""
    settings = current_settings()
    # A short timeout: the scheduler's other duties must not wait on a hanging SHAR.
    health = client_for(settings.shar_url(), min(settings.shar_timeout, 5.0)).health()
    result = asdict(health)
    row = db.session.get(SharHealthCheck, CHECK_NAME) or SharHealthCheck(name=CHECK_NAME)
    row.result, row.checked_at = result, utcnow()
    db.session.add(row)
    if health.reachable:
        if outage.closed(settings.outage_ramp_start):
            logger.warning("SHAR reachable again: held jobs are released")
    else:
        outage.opened(f"health check: {health.status} {health.detail}".strip())
    db.session.commit()
    return result


def health_due(now: datetime, last: datetime | None, settings: Settings) -> bool:
    """The probe's schedule: every 15 s, and every SHARBOARD_OUTAGE_PROBE_INTERVAL while SHAR is
    unreachable (so held work goes on soon after it answers)."""
    every = settings.outage_probe_interval if outage.current() is not None else HEALTH_INTERVAL
    return last is None or (now - last).total_seconds() >= every


def shar_health_now(*, actor: Actor) -> dict[str, Any]:
    """SHAR's health asked now, with its URL and the outage the dashboard holds work for, if any (never
    raises: an unreachable SHAR is a status)."""
    settings = current_settings()
    down = outage.current(fresh=True)
    held = None if down is None else {"since": down.since.isoformat(), "held": down.held, "last_error": down.last_error}
    return {
        **asdict(client_for(settings.shar_url(), settings.shar_timeout).health()),
        "url": settings.shar_url(),
        "outage": held,
    }


@dataclass(frozen=True)
class StoredHealth:
    """SHAR's health as the scheduler last stored it, as pages show it (the badge is decided here)."""

    status: str
    version: str | None
    detail: str
    healthy: bool
    checked_at: datetime

    @property
    def badge(self) -> str:
        return "active" if self.healthy else "failed"


def stored_health() -> StoredHealth | None:
    """The last stored health for a page; None before the first check."""
    result, checked_at = last_shar_health()
    if result is None or checked_at is None:
        return None
    return StoredHealth(
        str(result.get("status", "unknown")),
        result.get("version"),
        str(result.get("detail") or ""),
        result.get("healthy") is True,
        checked_at,
    )


def last_shar_health() -> tuple[dict[str, Any] | None, datetime | None]:
    """The stored health and when it was checked; (None, None) before the first check."""
    row = db.session.get(SharHealthCheck, CHECK_NAME)
    if row is None:
        return None, None
    return row.result, row.checked_at
