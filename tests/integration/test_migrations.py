"""Alembic migrations build the whole schema, and take it down again, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.core.extensions import db
from tests.support.databases import pg_available, postgres_database

EXPECTED_TABLES = {
    "users",
    "api_tokens",
    "workflows",
    "workflow_instances",
    "activity_events",
    "notifications",
    "job_records",
    "job_attempts",
    "webhook_deliveries",
    "audit_log",
    "idempotent_responses",
    "schedule_runs",
    "leases",
    "consumer_heartbeats",
    "shar_health_checks",
    "workflow_names",
    "failed_job_groups",
}


def _roundtrip(url: str, tmp_path: Path) -> None:
    app = create_app(database_url=url, instance_dir=str(tmp_path), secret_key="x")
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        tables = set(inspector.get_table_names())
        assert EXPECTED_TABLES <= tables
        indexes = {ix["name"] for ix in inspector.get_indexes("workflow_instances")}
        assert {"ix_instances_status_synced", "ix_instances_creator_created", "ix_instances_created_at"} <= indexes
        # Finding instances by variable: a GIN index on PostgreSQL only.
        assert ("ix_instances_variables" in indexes) == (db.engine.dialect.name == "postgresql")
        # The models and the migrations agree: autogenerate finds nothing to add (an index the
        # models declare for one database only is expected there only, as in migrations/env.py).
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from app.models._base import schema_filter

        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": schema_filter(conn.dialect.name)})
            diff = compare_metadata(context, db.metadata)
        assert diff == []
        _failed_jobs_counted()
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()
        assert EXPECTED_TABLES.isdisjoint(set(inspect(db.engine).get_table_names()))
        upgrade()


def _failed_jobs_counted() -> None:
    """The database counts failed jobs by group (failed_job_groups): the rows there before its
    migration (counted by it) and those written after (by its triggers, which a later batch
    migration of job_records on SQLite would drop unless it creates them again)."""
    from sqlalchemy import text

    add = text(
        "INSERT INTO job_records (job_type, queue, target_type, target_id, state, attempts, max_attempts, payload,"
        " held_tries, created_at, updated_at) VALUES ('sync', 'q', 'instance', 't', :s, 1, 1, '{}', 0,"
        " '2026-01-01', '2026-01-01')"
    )
    groups = text("SELECT job_type, error_shape, jobs FROM failed_job_groups")
    downgrade(revision="c3e7a9d2f514")  # the revision before failed_job_groups
    with db.engine.begin() as conn:
        conn.execute(add, [{"s": "failed"}, {"s": "failed"}, {"s": "queued"}])
    upgrade()
    with db.engine.begin() as conn:
        assert conn.execute(groups).all() == [("sync", "", 2)]
        conn.execute(add, {"s": "failed"})
        assert conn.execute(groups).all() == [("sync", "", 3)]
        conn.execute(text("DELETE FROM job_records"))
        assert conn.execute(groups).all() == []


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_migrations_on_postgresql(tmp_path: Path) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        _roundtrip(url, tmp_path)


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_variables_become_jsonb_with_their_values_on_postgresql(tmp_path: Path) -> None:
    """The JSONB migration keeps every row's variables; a U+0000, which JSONB cannot hold, becomes
    U+FFFD instead of stopping the migration; downgrade gives JSON back, without the index."""
    from sqlalchemy import text

    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        app = create_app(database_url=url, instance_dir=str(tmp_path), secret_key="x")
        with app.app_context():
            upgrade(revision="b4d1e6f09a27")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO workflows (id, name, version, description, bpmn_xml, bpmn_sha256,"
                        " summary, status, created_at, updated_at) VALUES (1, 'Flow', 1, '', '<x/>',"
                        " 'h', '{}', 'active', '2026-01-01', '2026-01-01')"
                    )
                )
                for instance_id, variables in (
                    ("plain", '{"orderId": "A1", "amount": 5, "n": {"a": [1, "x"]}}'),
                    ("nul", '{"note": "a\\u0000b", "k\\u0000": 1}'),
                    ("backslash", '{"path": "C:\\\\u0000"}'),
                ):
                    conn.execute(
                        text(
                            "INSERT INTO workflow_instances (id, workflow_id, status, variables,"
                            " current_activities, launch_requests, created_at, updated_at, progressed_at)"
                            " VALUES (:i, 1, 'running', CAST(:v AS json), '[]', 0, '2026-01-01',"
                            " '2026-01-01', '2026-01-01')"
                        ),
                        {"i": instance_id, "v": variables},
                    )
            upgrade()
            with db.engine.connect() as conn:
                rows = dict(conn.execute(text("SELECT id, variables FROM workflow_instances")).all())
                kind = conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns WHERE table_name ="
                        " 'workflow_instances' AND column_name = 'variables'"
                    )
                ).scalar_one()
            assert kind == "jsonb"
            assert rows["plain"] == {"orderId": "A1", "amount": 5, "n": {"a": [1, "x"]}}
            assert rows["nul"] == {"note": "a\ufffdb", "k\ufffd": 1}
            assert rows["backslash"] == {"path": "C:\\u0000"}  # an escaped backslash, not a NUL: kept
            downgrade(revision="b4d1e6f09a27")
            with db.engine.connect() as conn:
                kind = conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns WHERE table_name ="
                        " 'workflow_instances' AND column_name = 'variables'"
                    )
                ).scalar_one()
                indexes = (
                    conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'workflow_instances'"))
                    .scalars()
                    .all()
                )
                plain = conn.execute(
                    text("SELECT variables::text FROM workflow_instances WHERE id = 'plain'")
                ).scalar_one()
            assert kind == "json" and "ix_instances_variables" not in indexes and '"orderId": "A1"' in plain
            db.session.remove()
            db.engine.dispose()


def test_one_rulebook_migration_keeps_the_data(tmp_path: Path) -> None:
    """Workflow names get the creator of their first version as owner; periodic_runs rows move
    to their four tables; old completion jobs take the new name."""
    from sqlalchemy import text

    app = create_app(database_url=f"sqlite:///{tmp_path / 'd.db'}", instance_dir=str(tmp_path), secret_key="x")
    with app.app_context():
        upgrade(revision="da3878dabf23")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, active, email_notifications,"
                    " created_at) VALUES (1, 'ann@example.com', 'ann', 'x', 'user', 1, 1, '2026-01-01'),"
                    " (2, 'bob@example.com', 'bob', 'x', 'user', 1, 1, '2026-01-01')"
                )
            )
            for version, creator in ((1, 1), (2, 2)):
                conn.execute(
                    text(
                        "INSERT INTO workflows (name, version, description, bpmn_xml, bpmn_sha256, summary,"
                        " status, created_by, created_at, updated_at) VALUES ('Flow', :v, '', '<x/>', :h,"
                        " '{}', 'active', :c, '2026-01-01', '2026-01-01')"
                    ),
                    {"v": version, "h": str(version), "c": creator},
                )
            conn.execute(
                text(
                    "INSERT INTO periodic_runs (name, last_started_at, last_finished_at, last_result,"
                    " lease_until) VALUES ('consumer:q1', NULL, '2026-01-01 10:00:00', NULL,"
                    " '2026-01-01 10:00:15'), ('shar_health', NULL, '2026-01-01 10:00:00',"
                    ' \'{"healthy": true, "status": "healthy"}\', NULL), (\'schedule:reconcile\','
                    " '2026-01-01 09:00:00', '2026-01-01 09:00:01', 'ok', NULL), ('periodic_sync',"
                    " '2026-01-01 08:00:00', '2026-01-01 08:00:02', 'queued 3 syncs', NULL)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO job_records (job_type, queue, target_type, target_id, state, attempts,"
                    " max_attempts, payload, created_at, updated_at) VALUES ('complete_instance', 'q',"
                    " 'instance', 'i', 'failed', 1, 3, '{}', '2026-01-01', '2026-01-01')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, owner_id FROM workflow_names")).all() == [("Flow", 1)]
            assert conn.execute(text("SELECT queue FROM consumer_heartbeats")).scalars().all() == ["q1"]
            assert "healthy" in conn.execute(text("SELECT result FROM shar_health_checks")).scalar_one()
            assert conn.execute(text("SELECT last_result FROM schedule_runs")).scalars().all() == ["ok"]
            assert conn.execute(text("SELECT last_result FROM leases")).scalars().all() == ["queued 3 syncs"]
            assert conn.execute(text("SELECT job_type FROM job_records")).scalars().all() == ["complete_task"]
            assert conn.execute(text("SELECT job_type, jobs FROM failed_job_groups")).all() == [("complete_task", 1)]
        db.session.remove()
        db.engine.dispose()


def test_sqlite_migrations_keep_rows_that_point_at_users(tmp_path: Path) -> None:
    """A batch migration copies and drops `users` on SQLite; with foreign keys on, that would
    null every creator and delete every token. Migrations run with them off."""
    from sqlalchemy import text

    app = create_app(database_url=f"sqlite:///{tmp_path / 'k.db'}", instance_dir=str(tmp_path), secret_key="x")
    with app.app_context():
        upgrade(revision="5c2d8e41a7b3")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, active, email_notifications,"
                    " created_at) VALUES (1, 'ann@example.com', 'ann', 'x', 'user', 1, 1, '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES"
                    " (1, 't', 'h', 'shb_', '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO workflows (name, version, description, bpmn_xml, bpmn_sha256, summary,"
                    " status, created_by, created_at, updated_at) VALUES ('Flow', 1, '', '<x/>', 'h',"
                    " '{}', 'active', 1, '2026-01-01', '2026-01-01')"
                )
            )
        upgrade()  # includes a batch migration of `users`
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT created_by FROM workflows")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 1
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()
