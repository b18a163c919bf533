"""The session cookie read once per process (app.security.session_cookies) and the remembered user
rebuilt without its constructor (app.security.principals.user_from): a poll that changes nothing
sets no cookie, and a remembered cookie still expires, still fails when tampered with or when the
secret key changes, and never shares a mutable value between requests."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask
from sqlalchemy import inspect, select

from app.core.extensions import db
from app.models import User
from app.security import principals
from app.security.session_cookies import RememberingSessionInterface
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import forget_request_user

POLL = {"HX-Request": "true", "HX-Current-URL": "http://localhost/instances/x"}


def _poll(client, url: str, **headers: str):  # type: ignore[no-untyped-def]
    """A request as on a server: no user cached in `g` from an earlier one."""
    forget_request_user()
    return client.get(url, headers={**POLL, **headers})


def _live_url(user: User) -> str:
    create_workflow("Live", bpmn("user_task"), actor=user, async_=False)
    return f"/instances/{launch_instance('Live', {}, actor=user, async_=False).instance.id}/_live"


def test_a_poll_that_changes_nothing_sets_no_cookie(database, app: Flask, client, sign_in) -> None:
    url = _live_url(sign_in("user"))
    first = _poll(client, url)
    assert first.status_code == 200 and first.headers["ETag"]
    for _ in range(3):
        unchanged = _poll(client, url, **{"If-None-Match": first.headers["ETag"]})
        assert unchanged.status_code == 304
        assert unchanged.headers.getlist("Set-Cookie") == []
    assert first.headers.getlist("Set-Cookie") == []  # a rendered fragment changes no session either


def test_a_remembered_cookie_still_expires_after_the_session_lifetime(app: Flask, client, sign_in) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=2)
    url = _live_url(sign_in("user"))
    assert _poll(client, url).status_code == 200  # the cookie is verified here, and remembered
    time.sleep(3.1)  # whole seconds since it was signed, as itsdangerous counts them: past 2
    ended = _poll(client, url)
    assert ended.status_code == 401 and ended.headers["HX-Redirect"].startswith("/login?next=")


def test_a_tampered_cookie_and_a_new_secret_key_are_refused(app: Flask, client, sign_in) -> None:
    url = _live_url(sign_in("user"))
    assert _poll(client, url).status_code == 200
    cookie = client.get_cookie("session").value
    at = len(cookie) - 5  # inside the signature, where every character counts
    forged = app.test_client()
    forged.set_cookie("session", cookie[:at] + ("A" if cookie[at] != "A" else "B") + cookie[at + 1 :])
    assert _poll(forged, url).status_code == 401
    app.config["SECRET_KEY"] = "another-secret"  # a rotated key: what the old one signed is verified again
    assert _poll(client, url).status_code == 401


def test_a_session_holding_a_list_is_opened_afresh_each_time(app: Flask) -> None:
    interface = app.session_interface
    assert isinstance(interface, RememberingSessionInterface)
    cookie = interface.get_signing_serializer(app).dumps({"_flashes": [["info", "one"]], "csrf_token": "t"})
    opened = []
    for _ in range(2):
        with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as request_context:
            opened.append(interface.open_session(app, request_context.request))
    opened[0]["_flashes"].append(["info", "two"])  # what flash() does to the list it read
    assert opened[1]["_flashes"] == [["info", "one"]]


def test_the_remembered_user_is_a_clean_row_of_the_session(app: Flask) -> None:
    user = make_user("ann@example.com", "user")
    entry = {"user": {name: getattr(user, name) for name in principals._COLUMNS}}
    password_hash = user.password_hash
    db.session.remove()
    remembered = principals.user_from(entry, db.session)
    state = inspect(remembered)
    assert state.persistent and not db.session.dirty and not db.session.new
    assert db.session.get(User, user.id) is remembered
    assert remembered.password_hash == password_hash and remembered.tokens == []  # loaded on use
    remembered.name = "Ann B"
    db.session.commit()
    db.session.remove()
    assert db.session.scalar(select(User.name).where(User.id == user.id)) == "Ann B"
