"""PostgreSQL drops the pool's connections (a restart, a firewall): a connection idle for a moment
is checked before use and replaced, so the next request never sees it; a connection in constant
use is not checked (the round trip pool_pre_ping spent on every request and commit)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select, text

from app.core.db_pool import IDLE_SECONDS
from app.core.extensions import db
from app.models import User
from tests.support.databases import PG_ADMIN_URL, on_database
from tests.support.factories import make_user


@pytest.fixture
def pg(overrides: dict[str, Any]) -> Any:
    yield from on_database("postgresql", overrides, pytest.fail)


def _backend_pids(database: str) -> list[int]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
            )
        ]


def _terminate(database: str) -> int:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        return len(
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        )


def test_connections_dropped_while_idle_are_replaced_unseen(pg, app) -> None:  # type: ignore[no-untyped-def]
    make_user()
    db.session.remove()  # back to the pool
    database = db.engine.url.database
    assert _terminate(database) >= 1
    time.sleep(IDLE_SECONDS + 0.2)
    # The first statement after the drop is answered: the idle connection was pinged and replaced.
    assert db.session.scalar(select(User.email)) == "ann@example.com"
    client = app.test_client()
    db.session.remove()
    _terminate(database)
    time.sleep(IDLE_SECONDS + 0.2)
    assert client.get("/healthz").status_code == 200


def test_a_connection_in_use_is_not_pinged_before_each_statement(pg, app) -> None:  # type: ignore[no-untyped-def]
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    pings: list[int] = []
    original = db.engine.dialect.do_ping
    db.engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)  # type: ignore[method-assign]
    try:
        for _ in range(5):  # five requests' worth: checkout, statement, commit, checkin
            db.session.execute(text("SELECT 1"))
            db.session.commit()
            db.session.remove()
    finally:
        db.engine.dialect.do_ping = original  # type: ignore[method-assign]
    assert pings == [] and statements.count("SELECT 1") == 5
