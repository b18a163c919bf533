"""The API's instance and workflow reads say what the caller may do now (services.access.allowed_actions),
and a create or launch answers by its outcome, with the async the service chose."""

from __future__ import annotations

from app.core.extensions import db
from app.models import WorkflowInstance
from tests.api.conftest import bearer_for
from tests.support.factories import bpmn


def _actions(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]["allowed_actions"]


def test_reads_carry_what_the_caller_may_do(api) -> None:
    created = api.post("/api/shar/workflows", json={"name": "Flow", "bpmn_xml": bpmn("user_task"), "async": False})
    assert created.status_code == 201 and created.get_json()["data"]["async"] is False
    viewer, admin = api.as_role("viewer"), api.as_role("admin")
    assert _actions(api.get("/api/shar/workflows/Flow")) == ["delete", "launch", "see_job", "upload"]
    assert _actions(viewer.get("/api/shar/workflows/Flow")) == []
    assert _actions(admin.get("/api/shar/workflows/Flow")) == ["delete", "launch", "see_job", "transfer", "upload"]
    launched = api.post("/api/shar/workflows/Flow/launch", json={"async": False})
    assert launched.status_code == 201 and launched.get_json()["data"]["async"] is False
    url = f"/api/shar/instances/{launched.get_json()['data']['id']}"
    assert _actions(api.get(url)) == [
        *("cancel", "complete", "deliver_message", "edit_variables", "migrate", "move", "see_job", "sync")
    ]
    assert _actions(viewer.get(url)) == []
    # The read is cached by the row's version and the caller: a cancel changes both status and offer.
    first = api.get(url)
    assert api.post(f"{url}/cancel", json={}).status_code == 200
    assert _actions(api.get(url, headers={"If-None-Match": first.headers["ETag"]})) == ["see_job"]


def test_an_unchanged_create_says_the_async_the_service_chose(make_app) -> None:
    app = make_app(shar_async_enabled=False)
    client, headers = app.test_client(), bearer_for()
    body = {"name": "Now", "bpmn_xml": bpmn("user_task")}
    assert client.post("/api/shar/workflows", json=body, headers=headers).status_code == 201
    again = client.post("/api/shar/workflows", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["data"]["async"] is False
    assert again.get_json()["message"] == "Workflow unchanged: version 1 already has this BPMN"
    assert db.session.query(WorkflowInstance).count() == 0
