"""schemathesis against /api/openapi.json: no 5xx, and every answer inside the documented schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.factories import bpmn

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def admin_token(token_for) -> str:  # type: ignore[no-untyped-def]
    return token_for("admin")


def _known_path_parameters(
    operation: Any, workflow_id: int, instance_id: str, operation_id: int, view_id: int
) -> dict[str, Any]:
    known = {
        "name": "Known",
        "workflow_id": workflow_id,
        "instance_id": instance_id,
        "operation_id": operation_id,
        "view_id": view_id,
    }
    return {p.name: known[p.name] for p in operation.path_parameters}


def test_api_matches_its_openapi_document(app, admin_token, api) -> None:  # type: ignore[no-untyped-def]
    # Something to find: an active workflow, an instance and a bulk operation, made before the fuzzing starts.
    owner = api.as_role("user", "seed@example.com")
    workflow_id = owner.post(
        "/api/shar/workflows", json={"name": "Known", "bpmn_xml": bpmn("user_task"), "async": False}
    ).get_json()["data"]["id"]
    instance_id = owner.post("/api/shar/workflows/Known/launch", json={}).get_json()["data"]["id"]
    operation_id = owner.post(
        "/api/shar/instances/bulk", json={"action": "cancel", "filter": {"workflow": "Known"}}
    ).get_json()["data"]["id"]  # a bulk operation (no consumer runs it)
    view_id = api.post(
        "/api/shar/views",
        json={"name": "Known", "filter": {"workflow": "Known"}},
        headers={"Authorization": f"Bearer {admin_token}"},
    ).get_json()["data"]["id"]  # the fuzzing admin's own saved view
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 35  # 22, 7 of saved views and exports, 6 of repairs (each a preview and the operation)
    strategies = []
    for operation in operations:
        strategies.append(operation.as_strategy())  # random names and ids: mostly 404s and 422s
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))  # bodies and queries off the schema
        if operation.path_parameters:  # the real workflow and instance: the success answers
            strategies.append(
                operation.as_strategy(
                    path_parameters=_known_path_parameters(operation, workflow_id, instance_id, operation_id, view_id)
                )
            )
    statuses: set[int] = set()
    for strategy in strategies:

        @given(case=strategy)
        @settings(
            max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
            statuses.add(response.status_code)

        check()
    assert {200, 202, 404, 422} <= statuses  # the fuzzing reached real answers, not only refusals


def test_the_document_lists_every_api_route(app) -> None:  # type: ignore[no-untyped-def]
    from app.api.openapi.document import DOCUMENT

    documented = {(path, method.upper()) for path, ops in DOCUMENT["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/shar"):
            path = re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
