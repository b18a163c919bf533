"""Which database errors are a database away (retried without counting the attempt) and which are a
statement refused (counted as any failure): app.jobs.database_faults."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.jobs import database_faults


def _wrapped(orig: BaseException, kind: type = OperationalError) -> Exception:
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(psycopg.OperationalError("connection failed: Connection refused")),
        _wrapped(psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")),
        _wrapped(psycopg.errors.AdminShutdown()),  # 57P01: terminating connection due to administrator command
        _wrapped(psycopg.errors.CannotConnectNow()),  # 57P03: the database system is starting up
        _wrapped(psycopg.errors.TooManyConnections()),  # 53300
        _wrapped(psycopg.errors.ConnectionFailure()),  # class 08
        _wrapped(psycopg.InterfaceError("the connection is closed"), InterfaceError),
        _wrapped(sqlite3.OperationalError("database is locked")),
        PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=lambda exc: str(getattr(exc, "orig", exc))[:40],
)
def test_a_database_away_is_a_fault(exc: Exception) -> None:
    assert database_faults.is_fault(exc)
    try:
        raise RuntimeError("while syncing") from exc
    except RuntimeError as outer:
        assert database_faults.is_fault(outer)  # raised from one, too


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(psycopg.errors.QueryCanceled()),  # a statement timeout: the same statement would time out again
        _wrapped(psycopg.errors.DeadlockDetected()),
        _wrapped(psycopg.errors.UniqueViolation(), IntegrityError),
        _wrapped(sqlite3.OperationalError("no such table: job_records")),
        ValueError("not a database error"),
    ],
    ids=lambda exc: str(getattr(exc, "orig", exc))[:40] or type(getattr(exc, "orig", exc)).__name__,
)
def test_a_statement_refused_is_not(exc: Exception) -> None:
    assert not database_faults.is_fault(exc)


def test_the_wait_grows_with_the_fault_from_a_second_to_the_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(database_faults.time, "monotonic", lambda: clock[0])
    database_faults.cleared()
    assert database_faults.wait(1.0) == 1.0  # first sight
    clock[0] += 12
    assert database_faults.wait(1.0) == 12.0
    assert database_faults.wait(0.01) == pytest.approx(0.12)
    clock[0] += 600
    assert database_faults.wait(1.0) == database_faults.LONGEST_WAIT
    database_faults.cleared()
    assert database_faults.wait(1.0) == 1.0  # a new fault starts over
    database_faults.cleared()
