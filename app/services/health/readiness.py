"""Readiness (/readyz): the database and the queues' storage asked now, SHAR's health as the
scheduler last stored it (a web request never calls SHAR, and a slow SHAR must not make the
check itself slow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.core.extensions import db
from app.jobs.queues import current_queues
from app.models._base import utcnow
from app.services.health.liveness import database_answers
from app.services.health.shar import last_shar_health

# The scheduler checks SHAR every 15 s: older than this, the stored answer says nothing.
SHAR_CHECK_FRESH = timedelta(seconds=60)


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
        checks.append(
            Check(
                "shar",
                False,
                f"SHAR's health was last checked at {checked_at:%Y-%m-%d %H:%M:%S} UTC (is the scheduler running?)",
            )
        )
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
    database_answers()
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
