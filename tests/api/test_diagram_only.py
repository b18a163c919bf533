"""The API's launch of a workflow whose file has nothing executable (a diagram only): a 422 that names
the reason, before anything is stored; its allowed actions offer no launch."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def test_launching_a_diagram_only_answers_422_naming_the_reason(api, shar) -> None:
    sketch = bpmn("user_task").replace('isExecutable="true"', 'isExecutable="false"')
    assert create_workflow("Sketch", sketch, actor=CLI, async_=False).workflow.status == "active"
    answer = api.post("/api/shar/workflows/Sketch/launch", json={"variables": {"a": 1}})
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()
    assert "Sketch is a diagram only: its process is marked not executable" in body["message"]
    assert db.session.scalar(select(func.count()).select_from(WorkflowInstance)) == 0
    shown = api.get("/api/shar/workflows/Sketch").get_json()
    assert "launch" not in shown["data"]["allowed_actions"]
