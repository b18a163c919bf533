"""The seed's API examples give exactly the seed's bodies and codes; the React polling reaches active."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from app.extensions import db
from app.models import JobRecord
from tests.support.factories import bpmn


def _job_count() -> int:
    return db.session.scalar(select(func.count()).select_from(JobRecord))


def test_async_create_is_the_seeds_202_and_react_polling_reaches_active(api, processes) -> None:
    processes.start_consumers()
    response = api.post("/api/shar/workflows", json={"name": "OrderProcess", "bpmn_xml": bpmn("user_task"),
                                                     "async": True})
    assert response.status_code == 202
    body = response.get_json()
    assert body == {"success": True, "message": "Workflow creation queued successfully",
                    "data": {"id": body["data"]["id"], "name": "OrderProcess", "status": "creating", "async": True}}
    assert isinstance(body["data"]["id"], int)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the seed's checkStatus loop
        status = api.get("/api/shar/workflows/OrderProcess").get_json()["data"]["status"]
        seen.append(status)
        if status in ("active", "failed"):
            break
        time.sleep(0.2)
    assert seen[-1] == "active" and set(seen) <= {"creating", "active"}
    polled = api.get(f"/api/shar/workflows/{body['data']['id']}/status")
    assert polled.get_json() == {"status": "active", "ready": True}


def test_sync_create_and_launch_answer_201(api) -> None:
    created = api.post("/api/shar/workflows", json={"name": "OrderProcess", "bpmn_xml": bpmn("user_task"),
                                                    "async": False})
    assert created.status_code == 201
    body = created.get_json()
    assert body == {"success": True, "message": "Workflow created successfully",
                    "data": {"id": body["data"]["id"], "name": "OrderProcess", "status": "active", "async": False}}
    launched = api.post("/api/shar/workflows/OrderProcess/launch", json={"variables": {"orderId": "12345"},
                                                                         "async": False})
    assert launched.status_code == 201
    data = launched.get_json()["data"]
    assert data["status"] == "running" and data["workflow_name"] == "OrderProcess" and data["async"] is False


def test_async_launch_is_the_seeds_202(api) -> None:
    api.post("/api/shar/workflows", json={"name": "OrderProcess", "bpmn_xml": bpmn("user_task"), "async": False})
    response = api.post("/api/shar/workflows/OrderProcess/launch",
                        json={"variables": {"orderId": "12345"}, "async": True})
    assert response.status_code == 202
    body = response.get_json()
    assert body == {"success": True, "message": "Workflow instance launch queued successfully",
                    "data": {"id": body["data"]["id"], "workflow_name": "OrderProcess", "status": "launching",
                             "async": True}}
    assert len(body["data"]["id"]) == 36


def test_same_bpmn_again_makes_no_version_and_queues_nothing(api) -> None:
    first = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("user_task")}).get_json()
    jobs = _job_count()
    again = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("user_task")})
    assert again.status_code == 200 and again.get_json()["data"]["id"] == first["data"]["id"]
    assert _job_count() == jobs
    other = api.post("/api/shar/workflows", json={"name": "Same", "bpmn_xml": bpmn("parallel")})
    assert other.status_code == 202 and other.get_json()["data"]["id"] != first["data"]["id"]
    assert api.get("/api/shar/workflows/Same").get_json()["data"]["versions"] == [1, 2]
