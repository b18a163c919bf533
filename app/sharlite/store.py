"""sharlite's state in one SQLite file: workflow versions and each instance's Spiff state."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS workflow_versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, bpmn_xml TEXT NOT NULL, created_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, workflow_name TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL,
    state TEXT NOT NULL, variables TEXT NOT NULL, current_activities TEXT NOT NULL,
    completed_activities TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, completed_at TEXT,
    wake_at REAL, carried_steps INTEGER NOT NULL DEFAULT 0, failed_activities TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS ix_instances_wake ON instances (wake_at) WHERE wake_at IS NOT NULL;
"""
INSTANCE_COLUMNS = (
    "id",
    "workflow_name",
    "version",
    "status",
    "state",
    "variables",
    "current_activities",
    "completed_activities",
    "error",
    "created_at",
    "completed_at",
    "wake_at",
    "carried_steps",
    "failed_activities",
)
JSON_COLUMNS = ("variables", "current_activities", "completed_activities", "failed_activities")


class Store:
    """A thin, thread-safe wrapper over sqlite3."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self.transaction() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            # A file from before paused advances: the steps a paused advance carries to its next slice.
            columns = {r[1] for r in conn.execute("PRAGMA table_info(instances)")}
            if "carried_steps" not in columns:
                conn.execute("ALTER TABLE instances ADD COLUMN carried_steps INTEGER NOT NULL DEFAULT 0")
            # A file from before repairs: where a failed instance stands, for a move from there.
            if "failed_activities" not in columns:
                conn.execute("ALTER TABLE instances ADD COLUMN failed_activities TEXT NOT NULL DEFAULT '[]'")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # workflows
    def add_version(self, name: str, bpmn_xml: str, now: str) -> int:
        with self.transaction() as conn:
            row = conn.execute("SELECT MAX(version) FROM workflow_versions WHERE name = ?", (name,)).fetchone()
            version = (row[0] or 0) + 1
            conn.execute("UPDATE workflow_versions SET deleted = 0 WHERE name = ?", (name,))
            conn.execute("INSERT INTO workflow_versions VALUES (?, ?, ?, ?, 0)", (name, version, bpmn_xml, now))
            return version

    def latest_version(self, name: str) -> sqlite3.Row | None:
        with self.transaction() as conn:
            return conn.execute(
                "SELECT * FROM workflow_versions WHERE name = ? AND deleted = 0 ORDER BY version DESC LIMIT 1", (name,)
            ).fetchone()

    def version(self, name: str, version: int) -> sqlite3.Row | None:
        with self.transaction() as conn:
            return conn.execute(
                "SELECT * FROM workflow_versions WHERE name = ? AND version = ?", (name, version)
            ).fetchone()

    def workflow_names(self) -> list[str]:
        with self.transaction() as conn:
            return [
                r[0]
                for r in conn.execute("SELECT DISTINCT name FROM workflow_versions WHERE deleted = 0 ORDER BY name")
            ]

    def delete_workflow(self, name: str) -> bool:
        with self.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE workflow_versions SET deleted = 1 WHERE name = ? AND deleted = 0", (name,)
                ).rowcount
                > 0
            )

    # instances
    def save_instance(self, record: dict[str, Any]) -> None:
        values = [
            json.dumps(record.get(c) or []) if c == "failed_activities" else _value(record, c) for c in INSTANCE_COLUMNS
        ]
        with self.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO instances ({', '.join(INSTANCE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(INSTANCE_COLUMNS))})",
                values,
            )

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM instances WHERE id = ?", (instance_id,)).fetchone()
        return _decode(row) if row else None

    def instances(self) -> list[dict[str, Any]]:
        with self.transaction() as conn:
            return [_decode(r) for r in conn.execute("SELECT * FROM instances ORDER BY created_at")]

    def due_instances(self, now: float) -> list[str]:
        with self.transaction() as conn:
            return [
                r[0]
                for r in conn.execute("SELECT id FROM instances WHERE wake_at IS NOT NULL AND wake_at <= ?", (now,))
            ]


def _value(record: dict[str, Any], column: str) -> Any:
    return json.dumps(record[column]) if column in JSON_COLUMNS else record[column]


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    for key in JSON_COLUMNS:
        record[key] = json.loads(record[key])
    return record
