"""Repairing instances over real HTTP (contract extensions): move, variables, migrate, and their refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sharlite.server import EngineServer
from tests.support.factories import bpmn


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineServer]:
    server = EngineServer(str(tmp_path / "engine.db")).start()
    yield server
    server.stop()


def _create(engine: EngineServer, name: str, fixture: str) -> dict[str, Any]:
    created = httpx.post(f"{engine.url}/api/v1/workflows", json={"name": name, "bpmn_xml": bpmn(fixture)})
    assert created.status_code == 201, created.text
    return created.json()


def _launch(engine: EngineServer, name: str, variables: dict | None = None) -> dict[str, Any]:
    launched = httpx.post(f"{engine.url}/api/v1/workflows/{name}/instances", json={"variables": variables or {}})
    assert launched.status_code == 201, launched.text
    return launched.json()


def _get(engine: EngineServer, instance_id: str) -> dict[str, Any]:
    return httpx.get(f"{engine.url}/api/v1/instances/{instance_id}").json()


def _complete(engine: EngineServer, instance_id: str, variables: dict | None = None) -> None:
    done = httpx.post(f"{engine.url}/api/v1/instances/{instance_id}/complete", json={"variables": variables or {}})
    assert done.status_code == 200, done.text


def _move(engine: EngineServer, instance_id: str, from_: list[str], to: str, **extra: Any) -> httpx.Response:
    return httpx.post(f"{engine.url}/api/v1/instances/{instance_id}/move", json={"from": from_, "to": to, **extra})


def _variables(engine: EngineServer, instance_id: str, set_: dict, remove: list[str]) -> httpx.Response:
    return httpx.patch(f"{engine.url}/api/v1/instances/{instance_id}/variables", json={"set": set_, "remove": remove})


def _migrate(engine: EngineServer, instance_id: str, version: int, mapping: dict | None = None) -> httpx.Response:
    return httpx.post(
        f"{engine.url}/api/v1/instances/{instance_id}/migrate", json={"version": version, "mapping": mapping or {}}
    )


def _at(engine: EngineServer, name: str, *steps: dict) -> dict[str, Any]:
    """A Repair instance launched and completed through `steps` (one variables dict per user task)."""
    instance = _launch(engine, name)
    for variables in steps:
        _complete(engine, instance["id"], variables)
    return _get(engine, instance["id"])


def test_moved_back_to_a_user_task_it_waits_there_and_completes_again(engine: EngineServer) -> None:
    _create(engine, "Repair", "repair_v1")
    instance = _at(engine, "Repair", {"who": "ann"}, {"amount": 5})
    assert instance["current_activities"] == ["ship"]
    moved = _move(engine, instance["id"], ["ship"], "check")
    assert moved.status_code == 200, moved.text
    answer = moved.json()
    assert (answer["left"], answer["entered"]) == (["ship"], ["check"])
    assert answer["instance"]["current_activities"] == ["check"] and answer["instance"]["status"] == "running"
    assert answer["instance"]["variables"] == {"who": "ann", "amount": 5}  # the variables are kept
    _complete(engine, instance["id"], {"amount": 5000})  # checked again: now large, so it needs approval
    assert _get(engine, instance["id"])["current_activities"] == ["approve"]
    _complete(engine, instance["id"])
    _complete(engine, instance["id"])
    done = _get(engine, instance["id"])
    assert done["status"] == "completed" and {"check", "approve", "ship"} <= set(done["completed_activities"])


def test_a_forward_move_skips_the_elements_between(engine: EngineServer) -> None:
    _create(engine, "Repair", "repair_v1")
    instance = _launch(engine, "Repair", {"amount": 1})
    moved = _move(engine, instance["id"], ["enter"], "ship", variables={"skipped": True})
    assert moved.status_code == 200, moved.text
    shown = moved.json()["instance"]
    assert shown["current_activities"] == ["ship"] and shown["variables"] == {"amount": 1, "skipped": True}
    assert "check" not in shown["completed_activities"] and "enter" not in shown["completed_activities"]
    _complete(engine, instance["id"])
    assert _get(engine, instance["id"])["status"] == "completed"


def test_a_failed_instance_moved_from_where_it_failed_runs_again(engine: EngineServer) -> None:
    _create(engine, "Decide", "review_decision")
    instance = _launch(engine, "Decide")
    _complete(engine, instance["id"], {"approved": False})
    failed = _get(engine, instance["id"])
    assert failed["status"] == "failed" and failed["failed_activities"] == ["rejected"]
    moved = _move(engine, instance["id"], ["rejected"], "review", variables={"approved": True})
    assert moved.status_code == 200, moved.text
    again = moved.json()["instance"]
    assert again["status"] == "running" and again["current_activities"] == ["review"] and "error" not in again
    _complete(engine, instance["id"], {"approved": True})
    assert _get(engine, instance["id"])["status"] == "completed"


def test_a_failed_gateway_is_retried_after_its_variable_is_set(engine: EngineServer) -> None:
    _create(engine, "Repair", "repair_v1")
    instance = _at(engine, "Repair", {}, {})  # no amount: the gateway's condition cannot be evaluated
    assert instance["status"] == "failed" and instance["failed_activities"] == ["size"], instance
    assert _variables(engine, instance["id"], {"amount": 2000}, []).json()["status"] == "failed"
    retried = _move(engine, instance["id"], ["size"], "size")
    assert retried.status_code == 200, retried.text
    assert retried.json()["instance"]["current_activities"] == ["approve"]


def test_variables_set_then_read_by_a_gateway(engine: EngineServer) -> None:
    _create(engine, "Repair", "repair_v1")
    instance = _at(engine, "Repair", {"amount": 5, "note": "x"})
    changed = _variables(engine, instance["id"], {"amount": 9000}, ["note"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["variables"] == {"amount": 9000} and changed.json()["current_activities"] == ["check"]
    _complete(engine, instance["id"])
    assert _get(engine, instance["id"])["current_activities"] == ["approve"]  # the gateway read 9000


def test_migrate_v1_to_v2_and_refusal_for_a_removed_element(engine: EngineServer) -> None:
    assert _create(engine, "Repair", "repair_v1")["version"] == 1
    at_check = _at(engine, "Repair", {"amount": 5})
    at_approve = _at(engine, "Repair", {"amount": 5000}, {})
    at_ship = _at(engine, "Repair", {"amount": 5}, {})
    assert _create(engine, "Repair", "repair_v2")["version"] == 2
    refused = _migrate(engine, at_approve["id"], 2)
    assert refused.status_code == 422 and "approve" in refused.json()["error"]
    assert _get(engine, at_approve["id"])["workflow_version"] == 1  # nothing changed
    unmapped = _migrate(engine, at_check["id"], 2)
    assert unmapped.status_code == 422 and "check" in unmapped.json()["error"]
    mapped = _migrate(engine, at_check["id"], 2, {"check": "verify"})
    assert mapped.status_code == 200, mapped.text
    assert (mapped.json()["workflow_version"], mapped.json()["current_activities"]) == (2, ["verify"])
    shipped = _migrate(engine, at_ship["id"], 2)  # it passed `size`, which v2 no longer has
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["variables"] == {"amount": 5}
    _complete(engine, at_ship["id"])
    assert _get(engine, at_ship["id"])["current_activities"] == ["invoice"]  # v2's new step
    _complete(engine, at_ship["id"])
    _complete(engine, at_check["id"])
    assert _get(engine, at_check["id"])["current_activities"] == ["ship"]
    assert _get(engine, at_ship["id"])["status"] == "completed"


def test_parallel_branches_boundary_events_and_sub_processes(engine: EngineServer) -> None:
    _create(engine, "Shapes", "repair_shapes")
    instance = _launch(engine, "Shapes")
    assert instance["current_activities"] == ["a1", "b1", "b1_late"]
    across = _move(engine, instance["id"], ["a1"], "b1")
    assert across.status_code == 422 and "never join" in across.json()["error"]
    boundary = _move(engine, instance["id"], ["a1"], "b1_late")
    assert boundary.status_code == 422 and "boundary event" in boundary.json()["error"]
    join = _move(engine, instance["id"], ["a1"], "join")
    assert join.status_code == 422 and "joins several flows" in join.json()["error"]
    inside = _move(engine, instance["id"], ["a1"], "s_drive")
    assert inside.status_code == 422 and "another (sub-)process" in inside.json()["error"]
    along = _move(engine, instance["id"], ["a1"], "a2")
    assert along.status_code == 200, along.text
    assert along.json()["instance"]["current_activities"] == ["a2", "b1", "b1_late"]
    both = _move(engine, instance["id"], ["a2", "b1"], "sub")
    assert both.status_code == 200, both.text
    assert (both.json()["left"], both.json()["instance"]["current_activities"]) == (
        ["a2", "b1", "b1_late"],
        ["s_drive"],
    )
    back = _move(engine, instance["id"], ["s_drive"], "start")
    assert back.status_code == 422 and "another (sub-)process" in back.json()["error"]
    on = _move(engine, instance["id"], ["s_drive"], "s_hand")
    assert on.status_code == 200 and on.json()["instance"]["current_activities"] == ["s_hand"], on.text
    _complete(engine, instance["id"])
    assert _get(engine, instance["id"])["status"] == "completed"


def test_moving_back_before_a_fork_takes_every_branch_or_is_refused(engine: EngineServer) -> None:
    _create(engine, "Shapes", "repair_shapes")
    instance = _launch(engine, "Shapes")
    partial = _move(engine, instance["id"], ["a1"], "start")
    assert partial.status_code == 422 and "b1" in partial.json()["error"]
    whole = _move(engine, instance["id"], ["a1", "b1"], "start")
    assert whole.status_code == 200, whole.text
    assert whole.json()["instance"]["current_activities"] == ["a1", "b1", "b1_late"]


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda e, i: _move(e, i, ["enter"], "ship"), 404),
        (lambda e, i: _variables(e, i, {"a": 1}, []), 404),
        (lambda e, i: _migrate(e, i, 1), 404),
    ],
)
def test_unknown_instances_are_404_with_a_json_error(engine: EngineServer, call: Any, status: int) -> None:
    answer = call(engine, "no-such-instance")
    assert answer.status_code == status and "not found" in answer.json()["error"]


def test_conflicts_and_bad_bodies(engine: EngineServer) -> None:
    _create(engine, "Repair", "repair_v1")
    instance = _launch(engine, "Repair", {"amount": 1})
    not_there = _move(engine, instance["id"], ["ship"], "check")
    assert not_there.status_code == 409 and "not at ship" in not_there.json()["error"]
    assert _migrate(engine, instance["id"], 7).status_code == 404
    unknown = _move(engine, instance["id"], ["enter"], "nowhere")
    assert unknown.status_code == 422 and "not an element" in unknown.json()["error"]
    url = f"{engine.url}/api/v1/instances/{instance['id']}"
    assert httpx.post(f"{url}/move", json={"from": "enter", "to": "ship"}).status_code == 422
    assert httpx.patch(f"{url}/variables", json={"set": [1]}).status_code == 422
    assert httpx.patch(f"{url}/variables", json={"set": {"a": 1}, "remove": ["a"]}).status_code == 422
    assert httpx.post(f"{url}/migrate", json={"version": "2"}).status_code == 422
    not_json = b'{"set": {"n": Infinity}}'
    infinite = httpx.patch(f"{url}/variables", content=not_json, headers={"Content-Type": "application/json"})
    assert infinite.status_code == 422 and "not JSON" in infinite.json()["error"]
    for _ in range(3):
        _complete(engine, instance["id"])
    assert _get(engine, instance["id"])["status"] == "completed"
    for answer in (
        _move(engine, instance["id"], ["ship"], "check"),
        _variables(engine, instance["id"], {"a": 1}, []),
        _migrate(engine, instance["id"], 1),
    ):
        assert answer.status_code == 409 and "completed" in answer.json()["error"]
