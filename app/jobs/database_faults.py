"""A database that cannot be reached (a restart, a failover, its connections cut) stops an attempt,
but it is not the job's failure, as a SHAR outage is not (app.jobs.outage): the attempt is given back
(not counted) and the job is tried again after a wait that grows with the fault, until the fault has
lasted longer than SHARBOARD_OUTAGE_MAX_HOLD. Before, a fault probe cutting a database's connections
every 0.5 s for 15 s made six jobs spend every attempt on it and fail for good.

Three places meet such a fault: the claim (the message is kept and tried again: RetryTask), the attempt
(app.jobs.attempt_ends gives it back), and an attempt whose end could not be written at all (the
reconciler, which runs in the scheduler, gives it back when the scheduler saw the database away since
the attempt began).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.extensions import db
from app.models import JobAttempt
from app.models._base import utcnow

logger = logging.getLogger("sharboard.shar.jobs")
T = TypeVar("T")

OUTCOME = "database"  # a JobAttempt given back for a database fault
# PostgreSQL's codes for a connection lost or refused: class 08 (connection exception), the server
# shutting down or starting (57P01-57P03), too many connections (53300).
_CONNECTION_CODES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite's: another writer holds the file past busy_timeout, or the file cannot be opened.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file")
LONGEST_WAIT = 30.0  # seconds between tries at time scale 1, however long the fault
RECORD_PATIENCE = 8.0  # seconds a worker keeps trying to write an attempt's end (below any job's 10 s limit)


def is_fault(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says the database could not be reached, rather than
    that it refused a statement: only the former is retried without counting."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if _is_connection_error(current):
            return True
        current, seen = current.__cause__, seen + 1
    return False


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True  # every pooled connection taken and none came back in time
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig).startswith(_SQLITE_TRANSIENT)
    code = getattr(orig, "sqlstate", None)
    if code:
        return code.startswith("08") or code in _CONNECTION_CODES
    return True  # psycopg's own connection errors carry no code: refused, closed, reset, timed out


# When this process first met the fault now under way (monotonic seconds): the wait grows with it.
_first_seen: float | None = None


def seen() -> float:
    """Note a fault; the seconds since this process first met the one under way."""
    global _first_seen
    now = time.monotonic()
    if _first_seen is None:
        _first_seen = now
    return now - _first_seen


def cleared() -> None:
    """The database answered: the next fault starts its waits from the first again."""
    global _first_seen
    _first_seen = None


def wait(time_scale: float) -> float:
    """Seconds before the next try: as long as the fault has lasted so far, from 1 s to LONGEST_WAIT."""
    return max(min(max(seen(), 1.0), LONGEST_WAIT) * time_scale, 0.05)


def first_given_back(job_id: int) -> datetime | None:
    """When the first attempt of `job_id` given back for the database began (None: none was)."""
    return db.session.scalar(
        select(func.min(JobAttempt.started_at)).where(JobAttempt.job_id == job_id, JobAttempt.outcome == OUTCOME)
    )


def patiently(write: Callable[[], T], what: str, patience: float = RECORD_PATIENCE) -> T:
    """Run `write` (it sets what it writes and commits), again while the database cannot be reached,
    for at most `patience` seconds: an attempt's end is written once the connection is back."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return write()
        except Exception as exc:
            db.session.rollback()
            if not is_fault(exc) or time.monotonic() >= deadline:
                raise
            logger.warning("database unreachable; writing again", extra={"what": what, "error": str(exc)[:200]})
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))


# The scheduler's view: when its tick last failed for the database (None: not since it started).
_scheduler_saw: datetime | None = None


def scheduler_met(exc: BaseException) -> None:
    """The scheduler's tick failed with `exc`: note it if the database could not be reached (a locked
    SQLite file is contention, not a database away: a worker that died then died of something else)."""
    global _scheduler_saw
    if is_fault(exc) and not isinstance(getattr(exc, "orig", None), sqlite3.OperationalError):
        _scheduler_saw = utcnow()


def away_since(moment: datetime) -> bool:
    """Whether the scheduler found the database unreachable at `moment` or later."""
    return _scheduler_saw is not None and _scheduler_saw >= moment
