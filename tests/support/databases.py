"""Throwaway databases: a SQLite file, or a PostgreSQL database created for the test run.

A test's database starts as a copy of one this process migrated to head once (a template per
dialect), so a test does not pay for Alembic's forty-odd migrations (0.2-0.3 s each time here)."""

from __future__ import annotations

import atexit
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN_URL = os.environ.get("SHARBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


# The URLs of databases made from a migrated template: build_app need not migrate them.
AT_HEAD: set[str] = set()
_templates: dict[str, str] = {}


@contextmanager
def postgres_database(*, migrated: bool = False) -> Iterator[str]:
    """A new PostgreSQL database, empty or (`migrated`) at the newest migration; dropped afterwards.
    Yields its SQLAlchemy URL."""
    url = _create_pg_database(template=_pg_template() if migrated else None)
    if migrated:
        AT_HEAD.add(url)
    try:
        yield url
    finally:
        AT_HEAD.discard(url)
        _drop_pg_database(url)


def _create_pg_database(template: str | None = None) -> str:
    name = f"sharboard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_pg_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _pg_template() -> str:
    """This process's PostgreSQL database at head (made once; dropped when the process exits)."""
    if "postgresql" not in _templates:
        url = _create_pg_database()
        atexit.register(_drop_pg_database, url)
        _migrate(url)
        _templates["postgresql"] = url.rsplit("/", 1)[1]
    return _templates["postgresql"]


def copy_of_migrated_sqlite(path: Path) -> None:
    """Make `path` (not there yet) a SQLite database at the newest migration."""
    if "sqlite" not in _templates:
        template = Path(tempfile.mkdtemp(prefix="sharboard-template-")) / "head.db"
        _migrate(f"sqlite:///{template}")
        _templates["sqlite"] = str(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The backup API, not a file copy: it copies a consistent database whatever its journal holds.
    with closing(sqlite3.connect(_templates["sqlite"])) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)


def _migrate(url: str) -> None:
    """Migrate a new database at `url` to head, leaving no connection open (a template must have none)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.core.extensions import db

    workdir = tempfile.mkdtemp(prefix="sharboard-template-app-")
    app = create_app(database_url=url, instance_dir=workdir, secret_key="template", redis_url="", log_level="WARNING")
    with app.app_context():
        upgrade()
        db.engine.dispose()


def on_database(kind: str, overrides: dict[str, Any], missing: Callable[[str], Any]) -> Iterator[str]:
    """The body of a `database` fixture parametrised with "sqlite" and "postgresql": yields `kind`
    with the test's `overrides` pointed at that database (SQLite is their default); `missing` is
    called (pytest.fail, pytest.skip) when PostgreSQL is not reachable."""
    if kind == "sqlite":
        yield "sqlite"
        return
    if not pg_available():
        missing("PostgreSQL is not reachable on 127.0.0.1:5432")
    with postgres_database(migrated=True) as url:
        overrides["database_url"] = url
        yield "postgresql"
