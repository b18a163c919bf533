"""Signing in, CSRF, and what each role may see and do, enforced on the server."""

from __future__ import annotations

import io

from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.web.conftest import PASSWORD, csrf_from


def test_login_form_has_csrf_and_refuses_a_post_without_it(client, app) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    make_user("ann@example.com", "user", PASSWORD)
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 400


def test_wrong_password_gives_one_generic_error(client, app) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    wrong = client.post("/login", data={"email": "ann@example.com", "password": "nope", "csrf_token": token})
    unknown = client.post("/login", data={"email": "who@example.com", "password": "nope", "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an active account" in wrong.get_data(as_text=True)
    assert "do not match an active account" in unknown.get_data(as_text=True)


def test_sign_in_and_out(client, sign_in, post) -> None:
    sign_in("user", "ann@example.com")
    assert "ann@example.com" in client.get("/").get_data(as_text=True)
    assert client.get("/logout").status_code == 405  # no GET changes state
    assert post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_only_redirects_within_the_site(client, app) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_pages_need_a_sign_in(client, app) -> None:
    for url in ("/", "/workflows", "/instances", "/notifications", "/admin/queues"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_a_polled_fragment_without_a_session_takes_the_browser_to_sign_in(client, app) -> None:
    """htmx follows a redirect and would swap the sign-in page into the bell or a badge: it gets
    HX-Redirect to the sign-in page instead, to come back to the page the browser was on."""
    polled = client.get(
        "/notifications/_bell",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/instances?status=running"},
    )
    assert polled.status_code == 401 and polled.get_data() == b""
    assert polled.headers["HX-Redirect"] == "/login?next=%2Finstances%3Fstatus%3Drunning"
    page = client.get("/instances?status=running")
    assert page.status_code == 302 and "HX-Redirect" not in page.headers
    assert page.headers["Location"] == "/login?next=%2Finstances%3Fstatus%3Drunning"


def test_plain_user_gets_403_on_admin_pages(client, sign_in) -> None:
    sign_in("user")
    for url in (
        "/admin/queues",
        "/admin/failed-jobs",
        "/admin/webhooks",
        "/admin/users",
        "/admin/audit",
        "/admin/stuck",
    ):
        assert client.get(url).status_code == 403, url


def test_admin_sees_every_admin_page(client, sign_in) -> None:
    sign_in("admin")
    for url in (
        "/admin/queues",
        "/admin/failed-jobs",
        "/admin/webhooks",
        "/admin/users",
        "/admin/audit",
        "/admin/stuck",
    ):
        assert client.get(url).status_code == 200, url


def test_viewer_is_read_only_on_the_server(client, sign_in, post) -> None:
    sign_in("viewer")
    assert client.get("/workflows").status_code == 200
    upload = post(
        "/workflows",
        {"name": "X", "file": (io.BytesIO(bpmn("user_task").encode()), "x.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )
    assert upload.status_code == 403


def test_user_gets_404_on_another_users_instance(client, sign_in, app) -> None:
    owner = make_user("owner@example.com")
    workflow = create_workflow("Mine", bpmn("user_task"), actor=owner, async_=False).workflow
    assert refresh(workflow).status == "active"
    instance = launch_instance("Mine", {}, actor=owner, async_=False).instance
    sign_in("user", "other@example.com")
    assert client.get(f"/instances/{instance.id}").status_code == 404
    assert instance.id not in client.get("/instances").get_data(as_text=True)
