"""Delivering messages: instances waiting at a receive task, catch event or message start show it,
and the API and the CLI deliver the message through a deliver_message job to the engine."""

from __future__ import annotations

import json

from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.cli.conftest import cli_runner
from tests.support.factories import bpmn, make_user
from tests.support.servers import wait_until


def _instance(instance_id: str) -> WorkflowInstance:
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance_id)


def test_api_and_cli_deliver_messages_until_the_instance_completes(app, api, processes) -> None:  # type: ignore[no-untyped-def]
    processes.start_consumers()
    ann = make_user("owner@example.com", "user")
    create_workflow("Delivery", bpmn("messages"), actor=ann, async_=False)
    launched = api.post("/api/shar/workflows/Delivery/launch", json={"async": False, "variables": {"orderId": 7}})
    assert launched.status_code == 201, launched.get_json()
    instance_id = launched.get_json()["data"]["id"]
    shown = api.get(f"/api/shar/instances/{instance_id}").get_json()["data"]
    assert (shown["status"], shown["current_activities"]) == ("running", ["payment"])  # the receive task waits

    wrong = api.post(f"/api/shar/instances/{instance_id}/messages", json={"name": "order-shipped"})
    assert wrong.status_code == 409
    assert "it waits for 'payment-received' at payment-received (payment)" in wrong.get_json()["message"]
    assert api.post(f"/api/shar/instances/{instance_id}/messages", json={}).status_code == 422
    not_text = api.post(f"/api/shar/instances/{instance_id}/messages", json={"name": 5})
    assert not_text.status_code == 422 and not_text.get_json()["errors"] == {
        "name": ["the message name must be a string"]
    }
    assert (
        api.post(
            f"/api/shar/instances/{instance_id}/messages", json={"name": "payment-received", "variables": [1]}
        ).status_code
        == 422
    )

    queued = api.post(
        f"/api/shar/instances/{instance_id}/messages", json={"name": "payment-received", "variables": {"paid": 12}}
    )
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["data"]["job"]["job_type"] == "deliver_message"
    wait_until(
        lambda: _instance(instance_id).current_activities == ["shipped"],
        timeout=20,
        what="the catch event to be the current activity",
    )

    delivered = cli_runner(app)(
        "instance", "message", instance_id, "order-shipped", "--variables", '{"carrier": "x"}', "--format=json"
    )
    assert delivered.exit_code == 0, delivered.output
    assert json.loads(delivered.stdout)["job_type"] == "deliver_message"
    wait_until(lambda: _instance(instance_id).status == "completed", timeout=20, what="the instance to complete")
    assert _instance(instance_id).variables == {"orderId": 7, "paid": 12, "carrier": "x"}

    after = cli_runner(app)("instance", "message", instance_id, "order-shipped")
    assert after.exit_code != 0 and "only a running instance can take a message" in after.stderr


def test_a_message_start_instance_shows_its_start_event_and_others_cannot_message_it(app, api) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Intake", bpmn("message_start"), actor=CLI, async_=False)
    owner = make_user("intake@example.com", "user")
    instance = launch_instance("Intake", {}, actor=owner, async_=False).instance
    assert (instance.status, instance.current_activities) == ("running", ["placed"])
    assert api.post(f"/api/shar/instances/{instance.id}/messages", json={"name": "order-placed"}).status_code == 404
    viewer = api.as_role("viewer")
    assert viewer.post(f"/api/shar/instances/{instance.id}/messages", json={"name": "order-placed"}).status_code in (
        403,
        404,
    )


def test_a_message_start_process_starts_by_message_in_one_step(app, api, processes) -> None:  # type: ignore[no-untyped-def]
    # One launch, one SHAR call: the instance never waits at its message start event.
    create_workflow("Intake", bpmn("message_start"), actor=CLI, async_=False)
    started = api.post(
        "/api/shar/workflows/Intake/launch",
        json={"async": False, "message": "order-placed", "variables": {"orderId": 9}},
    )
    assert started.status_code == 201, started.get_json()
    shown = api.get(f"/api/shar/instances/{started.get_json()['data']['id']}").get_json()["data"]
    assert (shown["status"], shown["current_activities"], shown["start_message"]) == (
        "running",
        ["review"],
        "order-placed",
    )
    assert shown["variables"]["orderId"] == 9

    # A name the process does not start by is refused in the request, naming the ones it has; nothing stored.
    before = WorkflowInstance.query.count()
    wrong = api.post("/api/shar/workflows/Intake/launch", json={"message": "order-cancelled"})
    assert wrong.status_code == 422
    assert (
        "has no message start event for message 'order-cancelled'; its message starts: order-placed"
        in wrong.get_json()["errors"]["message"][0]
    )
    assert WorkflowInstance.query.count() == before

    processes.start_consumers()  # the CLI's launch goes through the queue
    by_cli = cli_runner(app)(
        "workflow", "launch", "Intake", "--message", "order-placed", "--wait", "--timeout", "20", "--format=json"
    )
    assert by_cli.exit_code == 0, by_cli.output
    assert json.loads(by_cli.stdout)["current_activities"] == ["review"]


def test_a_process_without_message_starts_refuses_a_start_message(app, api) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Review", bpmn("user_task"), actor=CLI, async_=False)
    refused = api.post("/api/shar/workflows/Review/launch", json={"message": "go"})
    assert refused.status_code == 422
    assert "it starts without a message" in refused.get_json()["errors"]["message"][0]


def test_the_engine_refuses_a_start_message_it_cannot_catch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The engine's own answer (a row summarised before message starts were recorded reaches it): 422, permanent.
    import httpx

    from app.sharlite.server import EngineServer

    server = EngineServer(str(tmp_path / "engine.db")).start()
    try:
        assert (
            httpx.post(
                f"{server.url}/api/v1/workflows", json={"name": "Intake", "bpmn_xml": bpmn("message_start")}
            ).status_code
            == 201
        )
        answer = httpx.post(f"{server.url}/api/v1/workflows/Intake/instances", json={"message": "nope"})
        assert answer.status_code == 422 and "its message starts: order-placed" in answer.json()["error"]
        assert httpx.get(f"{server.url}/api/v1/instances").json() == []
        ok = httpx.post(
            f"{server.url}/api/v1/workflows/Intake/instances", json={"message": "order-placed", "variables": {"a": 1}}
        )
        assert ok.status_code == 201 and ok.json()["current_activities"] == ["review"]
    finally:
        server.stop()
