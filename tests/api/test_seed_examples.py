"""The seed's API examples, sent as the seed writes them, give exactly the seed's bodies and codes;
the React snippet's polling reaches active."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import JobRecord, Workflow, WorkflowInstance
from tests.support.factories import bpmn
from tests.support.servers import wait_until


@pytest.fixture
def myapp_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's callback host, myapp.com, resolves to a public address (this sandbox has no DNS)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "myapp.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _job_count() -> int:
    return db.session.scalar(select(func.count()).select_from(JobRecord))


def test_create_workflow_example_is_the_seeds_202(api, myapp_resolves) -> None:
    request = {
        "name": "OrderProcess",
        "bpmn_xml": bpmn("user_task"),
        "async": True,
        "callback_url": "https://myapp.com/callbacks/workflow-created",
    }
    response = api.post("/api/shar/workflows", json=request)
    assert response.status_code == 202
    body = response.get_json()
    assert body == {
        "success": True,
        "message": "Workflow creation queued successfully",
        "data": {"id": body["data"]["id"], "name": "OrderProcess", "status": "creating", "async": True},
    }
    assert isinstance(body["data"]["id"], int)
    workflow = db.session.get(Workflow, body["data"]["id"])
    assert workflow.callback_url == "https://myapp.com/callbacks/workflow-created"
    assert [j.job_type for j in db.session.scalars(select(JobRecord))] == ["create_workflow"]


def test_launch_instance_example_is_the_seeds_202(api, myapp_resolves) -> None:
    api.post("/api/shar/workflows", json={"name": "OrderProcess", "bpmn_xml": bpmn("user_task"), "async": False})
    request = {
        "variables": {"orderId": "12345"},
        "async": True,
        "callback_url": "https://myapp.com/callbacks/instance-launched",
    }
    response = api.post("/api/shar/workflows/OrderProcess/launch", json=request)
    assert response.status_code == 202
    body = response.get_json()
    assert body == {
        "success": True,
        "message": "Workflow instance launch queued successfully",
        "data": {"id": body["data"]["id"], "workflow_name": "OrderProcess", "status": "launching", "async": True},
    }
    instance = db.session.get(WorkflowInstance, body["data"]["id"])  # the id is the placeholder's UUID
    assert len(body["data"]["id"]) == 36 and instance.variables == {"orderId": "12345"}


def test_synchronous_example_is_the_seeds_201(api) -> None:
    created = api.post(
        "/api/shar/workflows", json={"name": "OrderProcess", "bpmn_xml": bpmn("user_task"), "async": False}
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body == {
        "success": True,
        "message": "Workflow created successfully",
        "data": {"id": body["data"]["id"], "name": "OrderProcess", "status": "active", "async": False},
    }
    launched = api.post(
        "/api/shar/workflows/OrderProcess/launch", json={"variables": {"orderId": "12345"}, "async": False}
    )
    assert launched.status_code == 201
    data = launched.get_json()["data"]
    assert data == {"id": data["id"], "workflow_name": "OrderProcess", "status": "running", "async": False}


def test_react_snippet_creates_and_its_polling_reaches_active(api, processes) -> None:
    processes.start_consumers()
    # fetch() with a string body and no headers sends text/plain; the snippet's body as written.
    response = api.post(
        "/api/shar/workflows",
        content_type="text/plain;charset=UTF-8",
        data=json.dumps({"name": "OrderProcess", "bpmn_xml": bpmn("user_task"), "async": True}),
    )
    assert response.status_code == 202
    data = response.get_json()
    seen = []

    def check_status() -> bool:  # checkStatus: GET /api/shar/workflows/${data.data.name}
        status = api.get(f"/api/shar/workflows/{data['data']['name']}").get_json()
        seen.append(status["data"]["status"])
        return status["data"]["status"] in ("active", "failed")

    wait_until(check_status, timeout=20, interval=0.2, what="the workflow to leave creating")
    assert seen[0] == "creating" or seen == ["active"]
    assert seen[-1] == "active" and set(seen) <= {"creating", "active"}
    polled = api.get(f"/api/shar/workflows/{data['data']['id']}/status")  # the seed's status endpoint
    assert polled.status_code == 200 and polled.get_json() == {"status": "active", "ready": True}


def test_same_bpmn_again_makes_no_version_and_queues_nothing(api) -> None:
    first = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("user_task")}).get_json()
    jobs = _job_count()
    again = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("user_task")})
    assert again.status_code == 200 and again.get_json()["data"]["id"] == first["data"]["id"]
    assert "unchanged" in again.get_json()["message"]
    assert _job_count() == jobs
    other = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("parallel")})
    assert other.status_code == 202 and other.get_json()["data"]["id"] != first["data"]["id"]
    assert api.get("/api/shar/workflows/Same").get_json()["data"]["versions"] == [1, 2]
