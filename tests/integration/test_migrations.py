"""Alembic migrations build the whole schema, and take it down again, on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from tests.support.databases import pg_available, postgres_database

EXPECTED_TABLES = {"users", "api_tokens", "workflows", "workflow_instances", "activity_events", "notifications",
                   "job_records", "job_attempts", "webhook_deliveries", "audit_log", "idempotent_responses",
                   "schedule_runs", "leases", "consumer_heartbeats", "shar_health_checks", "workflow_names"}


def _roundtrip(url: str, tmp_path: Path) -> None:
    app = create_app(database_url=url, instance_dir=str(tmp_path), secret_key="x")
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        tables = set(inspector.get_table_names())
        assert EXPECTED_TABLES <= tables
        indexes = {ix["name"] for ix in inspector.get_indexes("workflow_instances")}
        assert {"ix_instances_status_synced", "ix_instances_creator_created", "ix_instances_created_at"} <= indexes
        # The models and the migrations agree: autogenerate finds nothing to add.
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()
        assert EXPECTED_TABLES.isdisjoint(set(inspect(db.engine).get_table_names()))
        upgrade()


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)


def test_migrations_on_postgresql(tmp_path: Path) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        _roundtrip(url, tmp_path)
