"""Choosing the process of a file with several: API launches, the engine starts the chosen one."""

from __future__ import annotations

from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def test_a_file_with_several_executable_processes_needs_a_choice_and_runs_it(api) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Orders", bpmn("two_processes"), actor=CLI, async_=False)

    unchosen = api.post("/api/shar/workflows/Orders/launch", json={"async": False})
    assert unchosen.status_code == 422
    message = unchosen.get_json()["errors"]["process_id"][0]
    assert "choose one with process_id: Customer, Shop" in message

    launched = api.post("/api/shar/workflows/Orders/launch", json={"async": False, "process_id": "Shop"})
    assert launched.status_code == 201, launched.get_json()
    data = launched.get_json()["data"]  # the seed's shape; the instance object names the process
    shown = api.get(f"/api/shar/instances/{data['id']}").get_json()["data"]
    assert (shown["status"], shown["process_id"], shown["current_activities"]) == ("running", "Shop", ["s_ship"])


def test_a_process_marked_not_executable_or_unknown_is_refused_with_the_choices(api) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Orders", bpmn("two_processes"), actor=CLI, async_=False)
    diagram_only = api.post("/api/shar/workflows/Orders/launch", json={"async": False, "process_id": "Bank"})
    assert diagram_only.status_code == 422
    assert 'process Bank is marked not executable (isExecutable="false")' in diagram_only.get_json()["message"]
    unknown = api.post("/api/shar/workflows/Orders/launch", json={"async": False, "process_id": "Nope"})
    assert unknown.status_code == 422
    assert "choose one of: Customer, Shop" in unknown.get_json()["message"]
    wrong_type = api.post("/api/shar/workflows/Orders/launch", json={"async": False, "process_id": 3})
    assert wrong_type.status_code == 422


def test_a_single_process_file_defaults_to_its_process(api) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    launched = api.post("/api/shar/workflows/Flow/launch", json={"async": False})
    assert launched.status_code == 201, launched.get_json()
    shown = api.get(f"/api/shar/instances/{launched.get_json()['data']['id']}").get_json()["data"]
    assert shown["process_id"] == "Review"
