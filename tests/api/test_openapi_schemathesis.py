"""schemathesis against /api/openapi.json: no 5xx, and every answer inside the documented schema."""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from schemathesis.checks import not_a_server_error

from tests.support.factories import bpmn

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def admin_token(token_for) -> str:  # type: ignore[no-untyped-def]
    return token_for("admin")


def test_api_matches_its_openapi_document(app, admin_token, api) -> None:  # type: ignore[no-untyped-def]
    # Something to find: an active workflow, made without any SHAR call inside a request.
    api.as_role("user", "seed@example.com").post(
        "/api/shar/workflows", json={"name": "Known", "bpmn_xml": bpmn("user_task"), "async": False})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 14
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)

        check()


def test_the_document_lists_every_api_route(app) -> None:  # type: ignore[no-untyped-def]
    from app.api.openapi import DOCUMENT

    documented = {(path, method.upper()) for path, ops in DOCUMENT["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/shar"):
            path = rule.rule.replace("<int:workflow_id>", "{workflow_id}").replace("<name>", "{name}") \
                .replace("<instance_id>", "{instance_id}")
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
