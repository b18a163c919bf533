"""Throwaway databases: a SQLite file, or a PostgreSQL database created for the test run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

PG_ADMIN_URL = os.environ.get("SHARBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"sharboard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_database(kind: str, overrides: dict[str, Any], missing: Callable[[str], Any]) -> Iterator[str]:
    """The body of a `database` fixture parametrised with "sqlite" and "postgresql": yields `kind`
    with the test's `overrides` pointed at that database (SQLite is their default); `missing` is
    called (pytest.fail, pytest.skip) when PostgreSQL is not reachable."""
    if kind == "sqlite":
        yield "sqlite"
        return
    if not pg_available():
        missing("PostgreSQL is not reachable on 127.0.0.1:5432")
    with postgres_database() as url:
        overrides["database_url"] = url
        yield "postgresql"
