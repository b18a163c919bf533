"""Whether SHAR can be reached, as every process sees it: the job runner's circuit breaker.

A job that needs SHAR and meets an outage (app.shar.errors.SharUnavailable: refused, reset,
timed out, 502/503/504, 429) opens it, and so does the scheduler's health probe; only the probe
closes it, when SHAR answers again. While it is open the runner holds such jobs without calling
SHAR, and app.jobs.release queues them again, a ramp at a time, once it is closed.

Kept in SQL (one row), which every web worker, consumer and scheduler shares, and read through
a per-app cache of CACHE_SECONDS: a page or a job pays one small read a second at most.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.extensions import db
from app.core.text import clip
from app.lifecycle.states import JobState
from app.models import JobRecord, SharOutage
from app.models._base import utcnow

NAME = "shar"
CACHE_SECONDS = 1.0
_CACHE = "sharboard.outage"


@dataclass(frozen=True)
class Outage:
    """SHAR unreachable since `since`, with the error that said so and the jobs held now."""

    since: datetime
    last_error: str
    held: int

    @property
    def key(self) -> str:
        """What pages showing the outage depend on (their polled versions include it)."""
        return f"{self.since.isoformat()}:{self.held}"


def current(*, fresh: bool = False) -> Outage | None:
    """The outage under way, or None while SHAR is reachable (cached for CACHE_SECONDS)."""
    cache: dict[str, Any] = current_app.extensions.setdefault(_CACHE, {})
    now = time.monotonic()
    if not fresh and cache.get("until", 0.0) > now:
        return cache["value"]
    value = _read()
    cache.update(until=now + CACHE_SECONDS, value=value)
    return value


def key() -> str:
    """The outage's part of a polled version: empty while SHAR is reachable."""
    outage = current()
    return outage.key if outage else ""


def opened(error: str) -> None:
    """SHAR could not be reached: open the breaker (keeping when the outage began). The caller commits."""
    now = utcnow()
    message = clip(error, 500)
    _write(
        {"since": func.coalesce(SharOutage.since, now), "last_error": message, "ramp": 0},
        {"since": now, "last_error": message, "ramp": 0},
    )
    forget()


def closed(ramp_start: int) -> bool:
    """SHAR answered: close the breaker; the first release may queue `ramp_start` held jobs.
    True when it was open. The caller commits."""
    result = db.session.execute(
        update(SharOutage)
        .where(SharOutage.name == NAME, SharOutage.since.is_not(None))
        .values(since=None, ended_at=utcnow(), ramp=ramp_start)
        .execution_options(synchronize_session=False)
    )
    forget()
    return bool(result.rowcount)


def take_ramp(ramp_start: int) -> int:
    """How many held jobs this release may queue; the next one may queue twice as many. The caller commits."""
    allowance = db.session.scalar(select(SharOutage.ramp).where(SharOutage.name == NAME)) or ramp_start
    db.session.execute(
        update(SharOutage)
        .where(SharOutage.name == NAME)
        .values(ramp=min(allowance * 2, 1_000_000))
        .execution_options(synchronize_session=False)
    )
    return allowance


def _read() -> Outage | None:
    row = db.session.execute(select(SharOutage.since, SharOutage.last_error).where(SharOutage.name == NAME)).first()
    if row is None or row.since is None:
        return None
    held = db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.state == JobState.HELD))
    return Outage(row.since, row.last_error or "", held or 0)


def _write(values: dict[str, Any], first: dict[str, Any]) -> None:
    """UPDATE the one row, or INSERT it the first time (another process may insert it meanwhile)."""
    statement = update(SharOutage).where(SharOutage.name == NAME).values(**values)
    if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(SharOutage).values(name=NAME, **first))
    except IntegrityError:
        db.session.execute(statement.execution_options(synchronize_session=False))


def forget() -> None:
    """Read the outage again at the next call (this process changed it, or what it holds)."""
    current_app.extensions.get(_CACHE, {}).pop("until", None)
