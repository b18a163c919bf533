"""A task that cannot complete answers 422 with a reason (never 500); timers wake at their due time;
refusals of BPMN and variables are 422: permanent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.sharlite.server import EngineServer
from tests.support.factories import bpmn
from tests.support.servers import wait_until


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineServer]:
    server = EngineServer(str(tmp_path / "robust.db")).start()
    yield server
    server.stop()


def _create(server: EngineServer, name: str, text: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/workflows", json={"name": name, "bpmn_xml": text})


def _launch(server: EngineServer, name: str, variables: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/workflows/{name}/instances", json={"variables": variables})


def test_a_missing_data_input_fails_the_instance_with_a_reason(engine) -> None:  # type: ignore[no-untyped-def]
    assert _create(engine, "Approve", bpmn("data_input")).status_code == 201
    instance = _launch(engine, "Approve", {}).json()
    assert instance["status"] == "failed" and instance["error"] == "at approve: its data input amount is missing"


def test_completing_without_a_data_output_is_422_and_the_task_still_waits(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Approve", bpmn("data_input"))
    instance = _launch(engine, "Approve", {"amount": 12}).json()
    refused = httpx.post(f"{engine.url}/api/v1/instances/{instance['id']}/complete", json={"variables": {}})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/json"
    assert refused.json()["error"].startswith("task approve cannot complete: its data output decision is missing")
    still = httpx.get(f"{engine.url}/api/v1/instances/{instance['id']}").json()
    assert still["status"] == "running" and still["current_activities"] == ["approve"]
    done = httpx.post(
        f"{engine.url}/api/v1/instances/{instance['id']}/complete", json={"variables": {"decision": "yes"}}
    )
    assert done.status_code == 200
    assert httpx.get(f"{engine.url}/api/v1/instances/{instance['id']}").json()["status"] == "completed"


def test_a_timer_instance_sleeps_until_its_due_time(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Timer", bpmn("timer"))  # PT1S
    launched_at = time.time()
    instance = _launch(engine, "Timer", {}).json()
    wake_at = engine.store.instance(instance["id"])["wake_at"]
    assert launched_at + 0.8 < wake_at < launched_at + 3.0  # due in 1 s, not "look again in 0.2 s"
    wait_until(
        lambda: httpx.get(f"{engine.url}/api/v1/instances/{instance['id']}").json()["status"] != "running",
        timeout=5,
        interval=0.05,
        what="the timer to fire",
    )
    assert time.time() >= launched_at + 1.0
    assert engine.store.instance(instance["id"])["wake_at"] is None


def test_non_json_numbers_in_variables_are_refused_with_422(engine) -> None:  # type: ignore[no-untyped-def]
    _create(engine, "Review", bpmn("user_task"))
    response = httpx.post(
        f"{engine.url}/api/v1/workflows/Review/instances",
        content=b'{"variables": {"x": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422 and "not JSON" in response.json()["error"]


def test_a_file_with_no_executable_process_deploys_as_a_diagram_and_launch_says_why(engine) -> None:  # type: ignore[no-untyped-def]
    text = bpmn("user_task").replace('isExecutable="true"', 'isExecutable="false"')
    assert 'isExecutable="false"' in text
    assert _create(engine, "Diagram", text).status_code == 201
    refused = _launch(engine, "Diagram", {})
    assert refused.status_code == 422 and "isExecutable" in refused.json()["error"]


def test_an_empty_timer_is_refused_at_deploy_with_its_element(engine) -> None:  # type: ignore[no-untyped-def]
    text = bpmn("timer").replace("<bpmn2:timeDuration>PT1S</bpmn2:timeDuration>", "<bpmn2:timeDuration/>")
    response = _create(engine, "Empty", text)
    assert response.status_code == 422
    assert '<intermediateCatchEvent> "wait" at line 6' in response.json()["error"]
    assert "[empty-timer]" in response.json()["error"]


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({}, "at split: the expression 'amount > 1000' failed: unknown variable 'amount'"),
        ({"amount": "x" * 100_000}, "at split: the expression 'amount > 1000' failed: cannot compare 'xxxx"),
    ],
)
def test_a_failing_condition_fails_the_instance_naming_element_and_cause(
    engine,
    variables: dict,  # type: ignore[no-untyped-def]
    reason: str,
) -> None:
    _create(engine, "Approval", bpmn("exclusive_gateway"))
    instance = _launch(engine, "Approval", variables).json()
    assert instance["status"] == "failed" and instance["error"].startswith(reason)
    assert len(instance["error"]) < 400  # a huge value is never copied into the reason
    assert "Error" not in instance["error"] and "0x" not in instance["error"]


def test_validator_and_engine_share_one_condition_length_limit(engine) -> None:  # type: ignore[no-untyped-def]
    from app.bpmn import BpmnValidationError, validate_bpmn
    from app.bpmn.expressions import MAX_EXPRESSION_CHARS
    from app.sharlite import expressions

    assert expressions.MAX_LENGTH == MAX_EXPRESSION_CHARS == 2000
    base = "= amount &gt; 1000"

    def document(condition: str) -> str:
        return bpmn("exclusive_gateway").replace(base, condition)

    assert base in bpmn("exclusive_gateway")
    longest = "amount" + " " * (MAX_EXPRESSION_CHARS - len("amount") - len("!=0")) + "!=0"
    assert len(longest) == MAX_EXPRESSION_CHARS
    assert validate_bpmn(document(longest)).processes
    assert _create(engine, "Longest", document(longest)).status_code == 201
    too_long = longest + "0"
    with pytest.raises(BpmnValidationError, match="at most 2,000"):
        validate_bpmn(document(too_long))
    refused = _create(engine, "TooLong", document(too_long))
    assert refused.status_code == 422 and "at most 2,000" in refused.json()["error"]
