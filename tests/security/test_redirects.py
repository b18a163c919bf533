"""`next=` only ever leads to a path on this site: sign-in, marking a notification read, an instance action."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from app.models import Notification
from app.security.redirects import is_safe_path
from tests.support.factories import make_user
from tests.web.conftest import PASSWORD, csrf_from

HOSTILE = [
    "//evil.example",
    "//evil.example/x",
    "https://evil.example",
    "https://evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "http:/evil.example",
    " //evil.example",
    "",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_are_not_safe(target: str) -> None:
    assert not is_safe_path(target)


@pytest.mark.parametrize("target", ["/", "/instances", "/workflows/Flow?status=running", "/instances/abc#x"])
def test_same_site_paths_are_safe(target: str) -> None:
    assert is_safe_path(target)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil", "/\t/evil.example"])
def test_sign_in_next_stays_on_the_site(client, app, target: str) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_sign_in_next_to_a_page_of_the_site_is_followed(client, app) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": "/instances?status=failed"},
        data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/instances?status=failed"


def _note(user_id: int) -> Notification:
    note = Notification(
        user_id=user_id,
        kind="instance_completed",
        target_type="instance",
        target_id="x",
        title="done",
        body="done",
        link="/instances",
    )
    db.session.add(note)
    db.session.commit()
    return note


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil"])
def test_mark_read_next_stays_on_the_site(client, sign_in, post, target: str) -> None:
    user = sign_in("user")
    note = _note(user.id)
    response = post(f"/notifications/{note.id}/read", {"next": target}, page="/notifications")
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    response = post(f"/notifications/{note.id}/read?next={target}", page="/notifications")
    assert response.headers["Location"] == "/notifications"


def test_mark_read_next_to_a_page_of_the_site_is_followed(client, sign_in, post) -> None:
    user = sign_in("user")
    note = _note(user.id)
    response = post(f"/notifications/{note.id}/read", {"next": "/instances"}, page="/notifications")
    assert response.headers["Location"] == "/instances"


def test_safe_next_takes_a_default_url_or_endpoint(app) -> None:
    from app.security.redirects import safe_next

    with app.test_request_context():
        assert safe_next("//evil.example", "/instances") == "/instances"
        assert safe_next("https://evil.example", "notifications.index") == "/notifications"
        assert safe_next("/workflows", "/instances") == "/workflows"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil"])
def test_an_instance_actions_next_stays_on_the_site(client, sign_in, post, shar, target: str) -> None:
    from app.services.actors import CLI
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow
    from tests.support.factories import bpmn

    sign_in("admin")
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    instance = launch_instance("Flow", {}, actor=CLI).instance  # launching: queued, never sent here
    response = post(f"/instances/{instance.id}/cancel", {"next": target}, page="/admin/stuck")
    assert response.status_code == 302 and response.headers["Location"] == f"/instances/{instance.id}"
