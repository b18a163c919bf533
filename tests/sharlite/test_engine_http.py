"""The local SHAR engine over real HTTP: the contract, real BPMN execution, policy, persistence, faults."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from app.sharlite.server import EngineServer
from tests.support.factories import bpmn
from tests.support.servers import wait_until


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = EngineServer(str(tmp_path / "engine.db")).start()
    yield server
    server.stop()


def _create(engine, name: str, fixture: str | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(f"{engine.url}/api/v1/workflows", json={"name": name, "bpmn_xml": bpmn(fixture or name)})


def _launch(engine, name: str, variables: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{engine.url}/api/v1/workflows/{name}/instances", json={"workflow_name": name, "variables": variables or {}}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _get(engine, instance_id: str) -> dict:  # type: ignore[no-untyped-def]
    return httpx.get(f"{engine.url}/api/v1/instances/{instance_id}").json()


def test_every_call_of_the_contract(engine) -> None:  # type: ignore[no-untyped-def]
    created = _create(engine, "Order", "user_task")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("id", "name", "status")} == {
        "id": "Order",
        "name": "Order",
        "status": "created",
    }
    assert httpx.get(f"{engine.url}/api/v1/workflows").json()[0]["name"] == "Order"
    assert httpx.get(f"{engine.url}/api/v1/workflows/Order").json()["status"] == "active"
    instance = _launch(engine, "Order", {"orderId": "12345"})
    assert instance["status"] == "running" and instance["workflow_name"] == "Order"
    assert instance["variables"]["orderId"] == "12345" and instance["created_at"].endswith("Z")
    assert [i["id"] for i in httpx.get(f"{engine.url}/api/v1/instances").json()] == [instance["id"]]
    done = httpx.post(f"{engine.url}/api/v1/instances/{instance['id']}/complete")
    assert done.status_code == 200 and "message" in done.json()
    assert _get(engine, instance["id"])["status"] == "completed"
    assert httpx.delete(f"{engine.url}/api/v1/workflows/Order").json()["message"]
    assert httpx.get(f"{engine.url}/api/v1/workflows/Order").status_code == 404
    health = httpx.get(f"{engine.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy" and health.json()["version"]


@pytest.mark.parametrize("body", [b"not json", b'{"name": "x"}', b'{"bpmn_xml": "<x/>"}', b"[]"])
def test_bad_create_bodies_are_400(engine, body: bytes) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{engine.url}/api/v1/workflows", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


def test_unknown_names_are_404(engine) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(f"{engine.url}/api/v1/instances/nope").status_code == 404
    assert httpx.post(f"{engine.url}/api/v1/workflows/nope/instances", json={"variables": {}}).status_code == 404
    assert httpx.post(f"{engine.url}/api/v1/instances/nope/complete").status_code == 404


def test_user_task_waits_until_completed(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Review", "user_task")
    instance = _launch(engine, "Review")
    # Nothing more happens to it: a later marker, a PT1S timer launched after it, fires first.
    _create(engine, "Marker", "timer")
    marker = _launch(engine, "Marker")
    wait_until(lambda: _get(engine, marker["id"])["status"] == "completed", timeout=10, what="the marker timer")
    waiting = _get(engine, instance["id"])
    assert waiting["status"] == "running" and waiting["current_activities"] == ["review"]
    httpx.post(f"{engine.url}/api/v1/instances/{instance['id']}/complete", json={"variables": {"approved": True}})
    done = _get(engine, instance["id"])
    assert done["status"] == "completed" and done["variables"]["approved"] is True and done["completed_at"]
    again = httpx.post(f"{engine.url}/api/v1/instances/{instance['id']}/complete")
    assert again.status_code == 409


@pytest.mark.parametrize(("amount", "branch", "other"), [(5000, "big", "small"), (5, "small", "big")])
def test_exclusive_gateway_takes_the_branch_its_condition_selects(engine, amount: int, branch: str, other: str) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Approval", "exclusive_gateway")
    instance = _get(engine, _launch(engine, "Approval", {"amount": amount})["id"])
    assert instance["status"] == "completed"
    assert branch in instance["completed_activities"] and other not in instance["completed_activities"]


def test_parallel_split_joins_again(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Parallel", "parallel")
    instance = _get(engine, _launch(engine, "Parallel")["id"])
    assert instance["status"] == "completed"
    done = instance["completed_activities"]
    assert {"pack", "invoice"} <= set(done) and done.index("ship") > max(done.index("pack"), done.index("invoice"))
    assert done.count("ship") == 1  # the join waited for both branches, then continued once


def test_timer_fires_later(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Timer", "timer")
    instance = _launch(engine, "Timer")
    assert instance["status"] == "running" and instance["current_activities"] == ["wait"]
    wait_until(lambda: _get(engine, instance["id"])["status"] != "running", timeout=5, what="the timer")
    assert _get(engine, instance["id"])["status"] == "completed"


def test_error_end_event_fails_the_instance(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Payment", "error_end")
    instance = _get(engine, _launch(engine, "Payment")["id"])
    assert instance["status"] == "failed" and "PAYMENT_DECLINED" in instance["error"]


@pytest.mark.parametrize(
    ("fixture", "reason"), [("script_task", "script tasks are not allowed"), ("unsafe_condition", "a function call")]
)
def test_code_in_bpmn_is_refused_and_nothing_runs(engine, fixture: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp/sharboard-pwned")
    marker.unlink(missing_ok=True)
    response = _create(engine, "Evil", fixture)
    assert response.status_code == 422 and reason in response.json()["error"]  # permanent: never retried
    assert httpx.get(f"{engine.url}/api/v1/workflows/Evil").status_code == 404
    assert httpx.post(f"{engine.url}/api/v1/workflows/Evil/instances", json={"variables": {}}).status_code == 404
    assert not marker.exists() and not os.path.exists("/tmp/sharboard-pwned")


def test_service_task_delay(tmp_path: Path) -> None:
    server = EngineServer(str(tmp_path / "slow.db"), task_delay=0.6).start()
    try:
        _create(server, "Parallel", "parallel")
        instance = _launch(server, "Parallel")
        assert instance["status"] == "running" and set(instance["current_activities"]) == {"pack", "invoice"}
        # Two delayed service tasks (0.6 s each, in parallel) then the rest: done within seconds.
        wait_until(lambda: _get(server, instance["id"])["status"] != "running", timeout=10, what="the delayed tasks")
        assert _get(server, instance["id"])["status"] == "completed"
    finally:
        server.stop()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "keep.db")
    first = EngineServer(db).start()
    _create(first, "Review", "user_task")
    instance = _launch(first, "Review", {"n": 1})
    first.stop()
    second = EngineServer(db).start()
    try:
        assert _get(second, instance["id"])["current_activities"] == ["review"]
        assert httpx.post(f"{second.url}/api/v1/instances/{instance['id']}/complete").status_code == 200
        assert _get(second, instance["id"])["status"] == "completed"
        assert httpx.get(f"{second.url}/api/v1/workflows/Review").status_code == 200
    finally:
        second.stop()


def test_faults_are_set_at_start_and_at_run_time(tmp_path: Path) -> None:
    server = EngineServer(str(tmp_path / "f.db"), outage=True).start()
    try:
        assert httpx.get(f"{server.url}/health").status_code == 503
        assert _create(server, "Review", "user_task").status_code == 503
        httpx.put(f"{server.url}/_sharlite/faults", json={"outage": False, "latency_ms": 300})
        started = time.monotonic()
        assert _create(server, "Review", "user_task").status_code == 201
        assert time.monotonic() - started >= 0.3
        server.set_faults(latency_ms=0, error_rate=1.0)
        assert httpx.get(f"{server.url}/api/v1/workflows").status_code == 500
        log = httpx.get(f"{server.url}/_sharlite/requests").json()
        assert [entry["status"] for entry in log] == [503, 201, 500]
    finally:
        server.stop()


def test_launch_starts_the_process_named_in_the_process_id_extension(engine) -> None:  # type: ignore[no-untyped-def]
    assert _create(engine, "Orders", "two_processes").status_code == 201
    default = _launch(engine, "Orders")
    assert default["current_activities"] == ["c_pay"]  # the reference gateway's reading: the first one
    chosen = httpx.post(
        f"{engine.url}/api/v1/workflows/Orders/instances",
        json={"workflow_name": "Orders", "variables": {}, "process_id": "Shop"},
    )
    assert chosen.status_code == 201 and chosen.json()["current_activities"] == ["s_ship"]
    refused = httpx.post(
        f"{engine.url}/api/v1/workflows/Orders/instances",
        json={"workflow_name": "Orders", "variables": {}, "process_id": "Bank"},
    )
    assert refused.status_code == 422 and "marked not executable" in refused.json()["error"]


def _deliver(engine, instance_id: str, name: str, variables: dict | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{engine.url}/api/v1/instances/{instance_id}/messages", json={"name": name, "variables": variables or {}}
    )


def test_receive_tasks_and_catch_events_wait_for_their_messages(engine) -> None:  # type: ignore[no-untyped-def]
    assert _create(engine, "Delivery", "messages").status_code == 201
    instance = _launch(engine, "Delivery", {"orderId": 7})
    # A receive task without a messageRef waits for a message named after it instead of passing through.
    assert (instance["status"], instance["current_activities"]) == ("running", ["payment"])
    wrong = _deliver(engine, instance["id"], "order-shipped")
    assert wrong.status_code == 409 and "not waiting for a message named 'order-shipped'" in wrong.json()["error"]
    paid = _deliver(engine, instance["id"], "payment-received", {"paid": 12})
    assert paid.status_code == 202 and paid.json()["caught_by"] == ["payment"]
    assert _get(engine, instance["id"])["current_activities"] == ["shipped"]
    shipped = _deliver(engine, instance["id"], "order-shipped")
    assert shipped.status_code == 202
    done = _get(engine, instance["id"])
    assert (done["status"], done["variables"]) == ("completed", {"orderId": 7, "paid": 12})
    assert _deliver(engine, instance["id"], "order-shipped").status_code == 409  # completed: nothing waits
    assert _deliver(engine, "no-such-instance", "order-shipped").status_code == 404
    assert httpx.post(f"{engine.url}/api/v1/instances/{instance['id']}/messages", json={"name": ""}).status_code == 400


def test_a_message_start_event_waits_and_starts_on_its_message(engine) -> None:  # type: ignore[no-untyped-def]
    assert _create(engine, "Intake", "message_start").status_code == 201
    instance = _launch(engine, "Intake")
    assert (instance["status"], instance["current_activities"]) == ("running", ["placed"])
    started = _deliver(engine, instance["id"], "order-placed", {"orderId": 9})
    assert started.status_code == 202
    shown = _get(engine, instance["id"])
    assert (shown["current_activities"], shown["variables"]) == (["review"], {"orderId": 9})


@pytest.mark.parametrize("shadows", [{"true": False}, {"true": False, "false": True, "null": 0}])
def test_a_variable_named_true_does_not_change_what_true_means(engine, shadows: dict) -> None:  # type: ignore[no-untyped-def]
    # `= approved = true`: literals win, so approved=false with a variable `true` holding false is still rejected.
    _create(engine, "Decide", "review_decision")
    instance = _launch(engine, "Decide", {"approved": False, **shadows})
    done = httpx.post(
        f"{engine.url}/api/v1/instances/{instance['id']}/complete", json={"variables": {"approved": False}}
    )
    assert done.status_code == 200, done.text
    answer = _get(engine, instance["id"])
    assert answer["status"] == "failed" and "REJECTED" in answer["error"], answer
