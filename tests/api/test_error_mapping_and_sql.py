"""Every service error maps to its status in the API; the statistics SQL is right on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.api.errors import _service_error
from app.core import errors
from app.core.extensions import db
from app.lifecycle.durations import measure
from app.models import Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.statistics import instance_statistics, statistics_by_workflow_name
from tests.support.databases import pg_available, postgres_database
from tests.support.stack import build_app


def _subclasses(cls: type) -> list[type]:
    return [cls] + [sub for child in cls.__subclasses__() for sub in _subclasses(child)]


def test_every_sharboard_error_is_answered_with_its_status_code(app) -> None:
    # The tree of app.core.errors (a service's own subclass, such as bulk's PreviewChanged, has its own test).
    classes = [c for c in _subclasses(errors.SharboardError)[1:] if c.__module__ == errors.__name__]
    assert {c.__name__ for c in classes} >= {
        "NotFound",
        "PermissionDenied",
        "InvalidInput",
        "PayloadTooLarge",
        "Conflict",
        "InvalidTransition",
        "ServiceUnavailable",
    }
    with app.test_request_context("/api/shar/workflows"):
        for cls in classes:
            if issubclass(cls, errors.InvalidInput):
                exc = cls.field("name", "bad")
            elif issubclass(cls, errors.TooManyRequests):
                exc = cls("refused", retry_after=3)
            else:
                exc = cls("refused")
            response = _service_error(exc)
            body = response.get_json()
            assert response.status_code == cls.status_code and 400 <= cls.status_code < 600, cls
            assert body["success"] is False and body["message"] in ("bad", "refused"), cls
            waits = issubclass(cls, errors.ServiceUnavailable | errors.TooManyRequests)
            assert ("Retry-After" in response.headers) == waits, cls
            if issubclass(cls, errors.InvalidInput):
                assert body["errors"] == {"name": ["bad"]}


def _fill_and_measure() -> tuple[dict, dict]:
    now = utcnow()
    flows = [
        Workflow(name=name, version=1, bpmn_xml="<x/>", bpmn_sha256=name, summary={}, status="active")
        for name in ("A", "B", "Empty")
    ]
    db.session.add_all(flows)
    db.session.flush()
    for status, seconds, flow in (
        ("completed", 10, 0),
        ("completed", 30, 0),
        ("failed", 5, 0),
        ("running", None, 0),
        ("completed", 4, 1),
    ):
        completed_at = now + timedelta(seconds=seconds) if seconds else None
        duration, clock = measure(
            shar_created_at=None, shar_completed_at=None, launched_at=now, completed_at=completed_at
        )
        db.session.add(
            WorkflowInstance(
                workflow_id=flows[flow].id,
                status=status,
                variables={},
                launched_at=now,
                completed_at=completed_at,
                duration_seconds=duration,
                duration_clock=clock,
            )
        )
    db.session.commit()
    return instance_statistics(), statistics_by_workflow_name(["A", "B", "Empty"])


def _check(overall: dict, per_name: dict) -> None:
    assert (overall["total"], overall["completed"], overall["failed"], overall["running"]) == (5, 3, 1, 1)
    assert overall["average_duration_seconds"] == pytest.approx(44 / 3, abs=0.01)
    assert overall["success_rate"] == 0.75
    assert per_name["A"]["average_duration_seconds"] == pytest.approx(20.0, abs=0.01)
    assert per_name["A"]["success_rate"] == round(2 / 3, 4) and per_name["B"]["total"] == 1
    assert per_name["Empty"] == {
        "total": 0,
        "launching": 0,
        "running": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "average_duration_seconds": None,
        "success_rate": None,
    }


def test_statistics_sql_on_sqlite(tmp_path: Path) -> None:
    app = build_app(instance_dir=str(tmp_path), secret_key="x", database_url=f"sqlite:///{tmp_path / 's.db'}")
    with app.app_context():
        _check(*_fill_and_measure())


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_statistics_sql_on_postgresql(tmp_path: Path) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        app = build_app(instance_dir=str(tmp_path), secret_key="x", database_url=url)
        with app.app_context():
            _check(*_fill_and_measure())
            db.session.remove()
            db.engine.dispose()
