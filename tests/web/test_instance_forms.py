"""Refusals said on the page: a second completion while the first is queued (a flash on the
instance page), and launch-form variable rows that cannot be stored as sent (422 on the form)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import JobRecord, WorkflowInstance
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


@pytest.fixture
def flow(app, shar):  # type: ignore[no-untyped-def]
    return create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False).workflow


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(client.get(url).get_data(as_text=True))


def test_a_second_completion_on_the_page_is_refused_with_a_flash(database, client, sign_in, post, flow) -> None:
    user = sign_in("user")
    instance = launch_instance("Flow", {}, actor=user, async_=False).instance
    assert instance.status == "running"
    page = f"/instances/{instance.id}"
    assert post(f"{page}/complete", page=page).status_code == 302
    assert "completion queued" in _page(client, page)
    job_id = db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "complete_task")).one()
    assert post(f"{page}/complete", page=page).status_code == 302
    assert f"a completion of instance {instance.id} is already queued (job {job_id}); wait for it to finish" in _page(
        client, page
    )
    assert _count(JobRecord, JobRecord.job_type == "complete_task") == 1


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"keys": ["a", "a"], "values": ["1", "2"]}, "the variable 'a' is given in two rows"),
        ({"keys": ["a", " a "], "values": ["1", "2"]}, "the variable 'a' is given in two rows"),
        ({"keys": ["a", "b"], "values": ["1"]}, "the variable rows do not pair up: 2 names and 1 value were sent"),
        ({"keys": ["a"], "values": ["1", "2"]}, "the variable rows do not pair up: 1 name and 2 values were sent"),
        ({"keys": ["a", ""], "values": ["1", "2"]}, "variable row 2 has a value but no name"),
        ({"keys": ["a\x01"], "values": ["1"]}, "the variable name 'a\\x01' contains the control character U+0001"),
        ({"keys": ["x" * 201], "values": ["1"]}, "is too long: 201 characters"),
        ({"variables_json": '{"": 1}'}, "a variable has an empty name"),
        ({"variables_json": '{"tab\\there": 1}'}, "contains the control character U+0009"),
    ],
)
def test_launch_form_refuses_variables_it_cannot_store_as_sent(client, sign_in, post, flow, form, words) -> None:
    sign_in("user")
    response = post("/workflows/Flow/launch", form, page="/workflows/Flow")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert 'class="field-error"' in page and words in page, words
    assert _count(WorkflowInstance) == 0


def test_launch_form_keeps_rows_with_spaces_dots_and_letters_and_skips_empty_rows(client, sign_in, post, flow) -> None:
    sign_in("user")
    response = post(
        "/workflows/Flow/launch",
        {"keys": ["order id", "", "customer.name", "größe"], "values": ["7", "", "Ann", "L"]},
        page="/workflows/Flow",
    )
    assert response.status_code == 302
    instance = db.session.scalars(select(WorkflowInstance)).one()
    assert instance.variables == {"order id": 7, "customer.name": "Ann", "größe": "L"}
