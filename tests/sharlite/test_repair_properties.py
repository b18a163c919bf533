"""Property: whatever sequence of launches, completions, moves, variable edits and migrations an
operator sends, through sharlite's real HTTP server, every answer is a success or a 4xx with a reason
(never a 500), and no instance is ever left `running` with no element to wait at and nothing due."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sharlite.bpmn_loader import load
from app.sharlite.server import EngineServer
from tests.support.factories import bpmn

# name -> the fixture of each version (migrations go between the versions of one name)
WORKFLOWS = {
    "Repair": ("repair_v1", "repair_v2"),
    "Shapes": ("repair_shapes",),
    "Approval": ("approval_timer",),
    "Decide": ("review_decision",),
}


def _elements(fixture: str) -> list[str]:
    loaded = load(bpmn(fixture))
    specs = [loaded.spec, *loaded.subprocess_specs.values()]
    return sorted({ts.bpmn_id for spec in specs for ts in spec.task_specs.values() if ts.bpmn_id})


ELEMENTS = {name: sorted({e for f in fixtures for e in _elements(f)}) for name, fixtures in WORKFLOWS.items()}
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=5))
VARIABLES = st.dictionaries(st.sampled_from(["amount", "approved", "note"]), VALUES, max_size=3)

OPERATIONS = st.one_of(
    st.tuples(st.just("launch"), st.sampled_from(sorted(WORKFLOWS)), VARIABLES),
    st.tuples(st.just("complete"), st.integers(0, 5), VARIABLES),
    st.tuples(st.just("move"), st.integers(0, 5), st.integers(0, 30), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 5), st.integers(0, 30), st.integers(0, 30), st.just(True)),
    st.tuples(st.just("variables"), st.integers(0, 5), VARIABLES, st.lists(st.sampled_from(["amount", "note"]))),
    st.tuples(st.just("migrate"), st.integers(0, 5), st.sampled_from([1, 2, 2, 3]), st.booleans()),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineServer]:
    server = EngineServer(str(tmp_path_factory.mktemp("repair-properties") / "engine.db")).start()
    for name, fixtures in WORKFLOWS.items():
        for fixture in fixtures:
            created = httpx.post(f"{server.url}/api/v1/workflows", json={"name": name, "bpmn_xml": bpmn(fixture)})
            assert created.status_code == 201, created.text
    yield server
    server.stop()
    http.close()


# One pooled client: a property sends hundreds of requests.
http = httpx.Client(timeout=30)


def _answered(response: httpx.Response) -> dict[str, Any] | list[Any]:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        reason = response.json().get("error")
        assert isinstance(reason, str) and reason.strip() and "Traceback" not in reason, response.text
    return response.json()


def _send(url: str, instances: list[tuple[str, str]], operation: tuple) -> str | None:
    """Send one operation; returns the id of the instance it touched."""
    kind, *args = operation
    if kind == "launch":
        name, variables = args
        launched = _answered(http.post(f"{url}/api/v1/workflows/{name}/instances", json={"variables": variables}))
        if isinstance(launched, dict) and "id" in launched:
            instances.append((launched["id"], name))
            return launched["id"]
        return None
    if not instances:
        return None
    instance_id, name = instances[args[0] % len(instances)]
    at = f"{url}/api/v1/instances/{instance_id}"
    if kind == "complete":
        _answered(http.post(f"{at}/complete", json={"variables": args[1]}))
    elif kind == "move":
        shown = _answered(http.get(at))
        standing = list(shown.get("current_activities") or shown.get("failed_activities") or [])
        elements = ELEMENTS[name]
        # mostly from where it stands (a real move), sometimes from anywhere (a stale or wrong request)
        sources = standing if standing and args[3] else elements
        source = sources[args[1] % len(sources)]
        _answered(http.post(f"{at}/move", json={"from": [source], "to": elements[args[2] % len(elements)]}))
    elif kind == "variables":
        remove = [n for n in args[2] if n not in args[1]]
        _answered(http.patch(f"{at}/variables", json={"set": args[1], "remove": remove}))
    else:
        mapping = {"check": "verify"} if args[2] else {}
        _answered(http.post(f"{at}/migrate", json={"version": args[1], "mapping": mapping}))
    return instance_id


def _check_no_silent_instance(engine: EngineServer, instance_id: str | None) -> None:
    if instance_id is not None:
        shown = _answered(http.get(f"{engine.url}/api/v1/instances/{instance_id}"))
        if shown["status"] == "running":
            assert shown["current_activities"] or engine.store.instance(instance_id)["wake_at"], shown
        elif shown["status"] == "failed":
            assert shown.get("error"), shown


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=15))
def test_no_operation_leaves_an_instance_silent_or_answers_500(engine: EngineServer, operations: list[tuple]) -> None:
    instances: list[tuple[str, str]] = []
    for operation in [("launch", "Repair", {}), ("launch", "Shapes", {}), *operations]:
        _check_no_silent_instance(engine, _send(engine.url, instances, operation))
    for instance_id, _ in instances:  # and an instance no operation touched last (a timer fired, ...)
        _check_no_silent_instance(engine, instance_id)
