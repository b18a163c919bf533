"""Every API call refuses a query parameter its OpenAPI operation does not document, naming it, before
anything runs (before: ignored, so `?stauts=failed` listed every instance and a filter misspelt in a
bulk preview would have previewed, then acted on, everything)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.api.openapi.document import PATHS
from app.core.extensions import db
from app.models import BulkOperation


def _operations() -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, item in PATHS.items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_refuses_an_undocumented_query_parameter_naming_it(app, api) -> None:  # type: ignore[no-untyped-def]
    admin = api.as_role("admin", "root@example.com")
    operations = _operations()
    assert len(operations) >= 35
    for method, path in operations:
        answer = getattr(admin, method)(path, query_string={"bogus": "1"}, json={})
        assert answer.status_code == 422, (method, path, answer.status_code)
        body = answer.get_json()
        assert list(body["errors"]) == ["bogus"], (method, path, body)
        assert f"unknown query parameter 'bogus' for {method.upper()} " in body["message"], body


def test_a_misspelt_filter_is_refused_with_the_name_meant_and_nothing_is_done(app, api) -> None:  # type: ignore[no-untyped-def]
    listed = api.get("/api/shar/instances", query_string={"stauts": "failed"})
    assert listed.status_code == 422
    assert "did you mean 'status'?" in listed.get_json()["message"], listed.get_json()
    bulk = api.post("/api/shar/instances/bulk", query_string={"dry_run": "1"}, json={"action": "cancel", "filter": {}})
    assert bulk.status_code == 422 and list(bulk.get_json()["errors"]) == ["dry_run"]
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    # What is documented is taken, the key form of a variable condition included.
    assert api.get("/api/shar/instances", query_string={"status": "running", "var.orderId": "A1"}).status_code == 200
    assert api.get("/api/shar/instances.csv", query_string={"var.amount__gte": "5"}).status_code == 200
