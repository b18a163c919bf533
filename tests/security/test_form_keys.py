"""The launch form carries a one-time key: posted twice, it launches once and shows the first instance."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn
from tests.web.conftest import csrf_from


def _instances() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowInstance))


def _launch_page(client) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    page = client.get("/workflows/Flow").get_data(as_text=True)
    match = re.search(r'name="form_key"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="form_key"', page
    )
    assert match, "no one-time key on the launch form"
    return csrf_from(page), match.group(1)


@pytest.fixture
def flow(app, shar):  # type: ignore[no-untyped-def]
    return create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False).workflow


def test_the_same_form_posted_twice_launches_once(client, sign_in, flow) -> None:
    sign_in("user")
    csrf, key = _launch_page(client)
    data = {"csrf_token": csrf, "form_key": key, "variables_json": '{"amount": 1200}'}
    first = client.post("/workflows/Flow/launch", data=data)
    assert first.status_code == 302 and "/instances/" in first.headers["Location"]
    second = client.post("/workflows/Flow/launch", data=data)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert _instances() == 1
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already sent" in shown
    # A fresh page has a fresh key: launching again on purpose works.
    csrf, other_key = _launch_page(client)
    assert other_key != key
    third = client.post("/workflows/Flow/launch", data={**data, "csrf_token": csrf, "form_key": other_key})
    assert third.status_code == 302 and third.headers["Location"] != first.headers["Location"]
    assert _instances() == 2


def test_a_refused_form_frees_its_key_for_the_corrected_post(client, sign_in, flow) -> None:
    sign_in("user")
    csrf, key = _launch_page(client)
    refused = client.post(
        "/workflows/Flow/launch", data={"csrf_token": csrf, "form_key": key, "variables_json": "{not json"}
    )
    assert refused.status_code == 422 and f'value="{key}"' in refused.get_data(as_text=True)
    corrected = client.post(
        "/workflows/Flow/launch", data={"csrf_token": csrf, "form_key": key, "variables_json": '{"amount": 1}'}
    )
    assert corrected.status_code == 302 and _instances() == 1


def test_keys_belong_to_one_user(app, client, sign_in, flow) -> None:
    sign_in("user", "ann@example.com")
    csrf, key = _launch_page(client)
    assert client.post("/workflows/Flow/launch", data={"csrf_token": csrf, "form_key": key}).status_code == 302
    other = app.test_client()
    with app.app_context():
        from tests.support.factories import make_user
        from tests.web.conftest import PASSWORD

        make_user("bob@example.com", "user", PASSWORD)
        token = csrf_from(other.get("/login").get_data(as_text=True))
        other.post("/login", data={"email": "bob@example.com", "password": PASSWORD, "csrf_token": token})
        csrf = csrf_from(other.get("/workflows/Flow").get_data(as_text=True))
        answer = other.post("/workflows/Flow/launch", data={"csrf_token": csrf, "form_key": key})
    assert answer.status_code == 302
    assert _instances() == 2


def test_a_key_still_being_answered_is_409_and_one_from_another_form_is_refused(client, sign_in, post, flow) -> None:  # type: ignore[no-untyped-def]
    """The form keys live in the idempotency service: its rules hold for them too."""
    from app.core.extensions import db
    from app.models import IdempotentResponse
    from app.services import idempotency

    user = sign_in("user")
    running, other = "k" * 24, "o" * 24
    db.session.add_all(
        [
            IdempotentResponse(
                user_id=user.id,
                key=f"form:{running}",
                status_code=idempotency.IN_PROGRESS,
                body="",
                request_hash=idempotency.request_hash("POST", "/workflows/Flow/launch", b""),
            ),
            IdempotentResponse(
                user_id=user.id,
                key=f"form:{other}",
                status_code=302,
                body="/instances/x",
                request_hash=idempotency.request_hash("POST", "/workflows/Other/launch", b""),
            ),
        ]
    )
    db.session.commit()
    page = "/workflows/Flow"
    busy = post("/workflows/Flow/launch", {"variables_json": "{}", "form_key": running}, page=page)
    assert busy.status_code == 409 and "still being processed" in busy.get_data(as_text=True)
    elsewhere = post("/workflows/Flow/launch", {"variables_json": "{}", "form_key": other}, page=page)
    assert elsewhere.status_code == 422 and "different request" in elsewhere.get_data(as_text=True)
