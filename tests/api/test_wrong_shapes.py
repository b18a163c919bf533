"""A field of the wrong kind is named as such, not as missing; a description past its limit is refused
at every door; a call that takes no body refuses one rather than ignoring it (found from outside:
`{"name": 123}` answered "name is required", the API stored a 900,000-character description, and
`/cancel` with the body `[` cancelled the instance)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.extensions import db
from app.models import User, Workflow
from app.services.launches import launch_instance
from app.services.workflow_input import DESCRIPTION_MAX_CHARS
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def _field_error(answer, field: str) -> str:  # type: ignore[no-untyped-def]
    assert answer.status_code == 422, answer.get_data(as_text=True)
    return answer.get_json()["errors"][field][0]


def test_a_field_of_the_wrong_kind_is_named_as_such(app, api) -> None:  # type: ignore[no-untyped-def]
    xml = bpmn("user_task")
    assert "name must be a string, not a number" in _field_error(
        api.post("/api/shar/workflows", json={"name": 123, "bpmn_xml": xml}), "name"
    )
    assert "name is required" in _field_error(api.post("/api/shar/workflows", json={"bpmn_xml": xml}), "name")
    assert "bpmn_xml must be a string" in _field_error(
        api.post("/api/shar/workflows", json={"name": "Shapes", "bpmn_xml": 5}), "bpmn_xml"
    )
    assert "must be a string, not a number" in _field_error(
        api.post("/api/shar/views", json={"name": 5, "filter": {}}), "name"
    )
    assert "description must be a string" in _field_error(
        api.post("/api/shar/workflows", json={"name": "Shapes", "bpmn_xml": xml, "description": {"a": 1}}),
        "description",
    )
    admin = api.as_role("admin", "root@example.com")
    assert admin.post("/api/shar/workflows", json={"name": "Shapes", "bpmn_xml": xml}).status_code == 202
    assert "owner is required" in _field_error(admin.put("/api/shar/workflows/Shapes/owner", json={}), "owner")
    # The diff preview shares the upload's rules.
    assert "bpmn_xml must be a string" in _field_error(
        admin.post("/api/shar/workflows/Shapes/diff", json={"bpmn_xml": ["x"]}), "bpmn_xml"
    )


def test_a_description_past_its_limit_is_refused_and_nothing_is_stored(app, api) -> None:  # type: ignore[no-untyped-def]
    xml = bpmn("user_task")
    too_long = "d" * (DESCRIPTION_MAX_CHARS + 1)
    error = _field_error(
        api.post("/api/shar/workflows", json={"name": "Long", "bpmn_xml": xml, "description": too_long}), "description"
    )
    assert f"{DESCRIPTION_MAX_CHARS + 1:,} characters; at most {DESCRIPTION_MAX_CHARS:,}" in error
    assert db.session.scalar(select(func.count()).select_from(Workflow)) == 0
    fits = {"name": "Long", "bpmn_xml": xml, "description": "d" * DESCRIPTION_MAX_CHARS}
    assert api.post("/api/shar/workflows", json=fits).status_code == 202


def test_a_call_that_takes_no_body_refuses_one_and_does_nothing(app, api) -> None:  # type: ignore[no-untyped-def]
    admin = api.as_role("admin", "root@example.com")
    root = db.session.scalars(select(User).where(User.email == "root@example.com")).one()
    create_workflow("Quiet", bpmn("user_task"), actor=root, async_=False)
    instance_id = launch_instance("Quiet", {}, actor=root, async_=False).instance.id
    path = f"/api/shar/instances/{instance_id}/cancel"
    for body, field in (("[", "body"), ('"x"', "body"), ('{"bogus": 1}', "bogus")):
        refused = admin.post(path, data=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 422 and field in refused.get_json()["errors"], body
    assert admin.get(f"/api/shar/instances/{instance_id}").get_json()["data"]["status"] == "running"
    for door in ("/api/shar/workflows/Quiet/retry", f"/api/shar/instances/{instance_id}/retry"):
        assert admin.post(door, json={"bogus": 1}).status_code == 422, door
    assert admin.delete("/api/shar/workflows/Quiet", json={"bogus": 1}).status_code == 422
    assert admin.post(path, json={}).status_code == 200  # an empty object, or no body at all, is nothing
    assert admin.get(f"/api/shar/instances/{instance_id}").get_json()["data"]["status"] == "cancelled"
