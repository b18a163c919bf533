"""A process remembers the newest version of a workflow it launched (app.services.launchable), so a
launch reads nothing before its one write; the write stores nothing unless that version is still the
newest of its name and unchanged. Whatever changed meanwhile (a new version, a status changed by
another process), the launch answers as it would have reading the version now."""

from __future__ import annotations

from typing import Any

import pytest
from flask import current_app
from sqlalchemy import false, func, literal, select, update

from app.core.extensions import db
from app.core.plain_rows import Condition
from app.models import AuditEntry, JobRecord, Workflow, WorkflowInstance
from app.services import launchable
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn

NEVER = select(literal(1)).where(false())  # built once: it keys the cached INSERT


def _stored() -> tuple[int, int, int]:
    db.session.expire_all()
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (WorkflowInstance, JobRecord, AuditEntry)
    )


def _changed_elsewhere(name: str, **values: Any) -> None:
    """Another process's change of the newest version (its own connection; updated_at moves with it)."""
    newest = select(func.max(Workflow.version)).where(Workflow.name == name).scalar_subquery()
    with db.engine.begin() as other:
        other.execute(update(Workflow).where(Workflow.name == name, Workflow.version == newest).values(**values))


def _launch(api: Any, name: str, **body: Any) -> Any:
    return api.post(f"/api/shar/workflows/{name}/launch", json={"variables": {"n": 1}, **body})


def _version_of(answer: Any) -> int:
    return db.session.get(WorkflowInstance, answer.json["data"]["id"]).workflow.version  # type: ignore[union-attr]


def test_a_version_uploaded_since_is_the_one_launched(database: str, api: Any) -> None:
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    assert _version_of(_launch(api, "Flow")) == 1  # v1 remembered
    create_workflow("Flow", bpmn("two_step"), actor=CLI, async_=False)
    before = _stored()
    answer = _launch(api, "Flow")
    assert answer.status_code == 202, answer.json
    assert _version_of(answer) == 2
    assert _stored() == tuple(n + 1 for n in before)  # the write refused for v1 left nothing


def test_a_version_made_inactive_by_another_process_is_refused_and_nothing_is_stored(database: str, api: Any) -> None:
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    assert _launch(api, "Flow").status_code == 202
    _changed_elsewhere("Flow", status="inactive")
    before = _stored()
    answer = _launch(api, "Flow")
    assert answer.status_code == 409 and "is inactive" in answer.json["message"], answer.json
    assert _stored() == before


def test_a_version_activated_since_a_refusal_is_launched(database: str, api: Any) -> None:
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    _changed_elsewhere("Flow", status="creating")
    assert _launch(api, "Flow").status_code == 409  # a version that may not be launched is not remembered
    _changed_elsewhere("Flow", status="active")
    assert _launch(api, "Flow").status_code == 202


def test_a_process_only_the_new_version_has_is_launched(database: str, api: Any) -> None:
    create_workflow("Orders", bpmn("user_task"), actor=CLI, async_=False)
    assert _launch(api, "Orders").status_code == 202
    create_workflow("Orders", bpmn("two_processes"), actor=CLI, async_=False)
    answer = _launch(api, "Orders", process_id="Shop")  # refused by the remembered v1, launched by v2
    assert answer.status_code == 202, answer.json
    assert _version_of(answer) == 2


def test_a_version_that_changes_under_every_write_is_refused_by_name(
    database: str, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    assert _launch(api, "Flow").status_code == 202
    monkeypatch.setattr(launchable, "unchanged", lambda workflow: Condition(NEVER, {}))
    before = _stored()
    answer = _launch(api, "Flow")
    assert answer.status_code == 409, answer.json
    assert (
        "changed while it was being launched" in answer.json["message"]
        and "nothing was stored" in answer.json["message"]
    )
    assert _stored() == before


def test_a_process_remembers_a_bounded_number_of_names(
    database: str, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launchable, "REMEMBERED", 2)
    for name in ("A1", "A2", "A3"):
        create_workflow(name, bpmn("user_task"), actor=CLI, async_=False)
        assert _launch(api, name).status_code == 202
    remembered = current_app.extensions["sharboard.launchable"]
    assert 0 < len(remembered) <= 2 and "A3" in remembered
