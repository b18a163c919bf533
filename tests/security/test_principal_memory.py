"""Who a token or session is, remembered briefly per process (app.security.principals): a
repeated call reads no token or user, yet a revocation, deactivation, role change or sign-out
made on another process holds there within REFRESH_SECONDS (here: two apps on one database
and one Redis, as two gunicorn workers), and at once where it was made. Without Redis nothing is
remembered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update

from app import create_app
from app.core.extensions import db
from app.models import ApiToken, User
from app.models._base import utcnow
from app.security import principals
from app.security.principals import REFRESH_SECONDS
from app.services.actors import CLI
from app.services.users import revoke_token, update_user
from tests.support.factories import make_user
from tests.support.servers import wait_until
from tests.support.web import Browser


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _token(role: str = "user") -> tuple[int, str]:
    user = make_user(f"{role}@example.com", role)
    token, plain = ApiToken.issue(user, "t")
    db.session.add(token)
    db.session.commit()
    return token.id, plain


def _other_worker(overrides: dict[str, Any]) -> Flask:
    return create_app(**overrides)


def _get(app: Flask, path: str, plain: str) -> int:
    # A worker's request starts with an empty session; a test's app context would keep rows across requests.
    db.session.remove()
    return app.test_client().get(path, headers={"Authorization": f"Bearer {plain}"}).status_code


def _who(app: Flask, plain: str) -> int:
    return _get(app, "/api/shar/instances", plain)


def test_a_token_is_read_once_then_remembered(app: Flask) -> None:
    _, plain = _token()
    assert _who(app, plain) == 200
    with _statements(app) as seen:
        assert _who(app, plain) == 200 and _who(app, plain) == 200
    assert not [s for s in seen if "api_tokens" in s or "FROM users" in s], seen


def test_a_revocation_on_another_worker_holds_here_within_the_refresh(app: Flask, overrides: dict[str, Any]) -> None:
    token_id, plain = _token()
    assert _who(app, plain) == 200
    other = _other_worker(overrides)
    with other.app_context():
        assert _who(other, plain) == 200
        revoke_token(token_id, actor=CLI)
        assert _who(other, plain) == 401  # at once where it was revoked
    started = time.monotonic()
    wait_until(lambda: _who(app, plain) == 401, timeout=5, interval=0.05, what="the revocation to hold here")
    assert time.monotonic() - started <= REFRESH_SECONDS + 0.5


def test_deactivation_and_a_role_change_elsewhere_hold_here(app: Flask, overrides: dict[str, Any]) -> None:
    _, plain = _token("admin")
    admin_id = db.session.scalar(db.select(ApiToken.user_id))
    assert _get(app, "/metrics", plain) == 200
    other = _other_worker(overrides)
    with other.app_context():
        update_user(admin_id, actor=CLI, role="user", active=True)
    wait_until(lambda: _get(app, "/metrics", plain) == 403, timeout=5, interval=0.05, what="the new role to hold here")
    with other.app_context():
        update_user(admin_id, actor=CLI, role="user", active=False)
    wait_until(lambda: _who(app, plain) == 401, timeout=5, interval=0.05, what="the deactivation to hold here")


def test_signing_out_everywhere_ends_a_remembered_session_on_every_worker(
    app: Flask, overrides: dict[str, Any]
) -> None:
    make_user()
    browser = Browser(app, "ann@example.com", "pw-ann-123")
    assert browser.get("/notifications").status_code == 200
    with _statements(app) as seen:
        assert browser.get("/notifications").status_code == 200
    assert not [s for s in seen if "FROM users" in s], seen
    other = _other_worker(overrides)
    with other.app_context():
        elsewhere = Browser(other, "ann@example.com", "pw-ann-123")
        assert elsewhere.post("/logout").status_code in (302, 303)
    wait_until(
        lambda: db.session.remove() or browser.get("/notifications").status_code == 302,
        timeout=5,
        interval=0.05,
        what="the session to end here",
    )


def test_without_redis_every_call_reads_its_token(make_app: Any) -> None:
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    _, plain = _token()
    assert _who(app, plain) == 200
    with _statements(app) as seen:
        assert _who(app, plain) == 200
    assert [s for s in seen if "api_tokens" in s]


def test_a_change_made_with_an_update_statement_is_noticed_too(app: Flask, overrides: dict[str, Any]) -> None:
    token_id, plain = _token()
    assert _who(app, plain) == 200
    other = _other_worker(overrides)
    with other.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=utcnow()))
        db.session.commit()
    wait_until(lambda: _who(app, plain) == 401, timeout=5, interval=0.05, what="the revocation to hold here")


def test_nothing_is_remembered_past_its_age_limit(app: Flask, monkeypatch: Any) -> None:
    _, plain = _token()
    assert _who(app, plain) == 200
    monkeypatch.setattr(principals, "MAX_AGE_SECONDS", 0.0)
    with _statements(app) as seen:
        assert _who(app, plain) == 200
    assert [s for s in seen if "api_tokens" in s]


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_a_row_read_while_a_change_commits_is_not_remembered_after_it() -> None:
    """The race between reading a user and a change: what was read before the change (here, or on
    another process and noticed by the refresh) is not kept, whatever the order of the steps."""
    import uuid

    import redis

    from tests.support.stack import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL)
    key = f"test-principals:{uuid.uuid4().hex}"
    here, elsewhere = principals.PrincipalMemory(client, key), principals.PrincipalMemory(client, key)
    user = User(id=1, email="ann@example.com", role="user", active=True, session_key="k")
    try:
        asked = here.recall("token:a")
        here.forget_all()  # a change committed here while the row was read
        here.remember("token:a", asked, user)
        assert here.recall("token:a").entry is None

        asked = here.recall("token:b")
        elsewhere.forget_all()  # ... or on another worker, noticed by the next refresh
        time.sleep(REFRESH_SECONDS + 0.1)
        assert here.recall("token:c").entry is None  # the refresh
        here.remember("token:b", asked, user)
        assert here.recall("token:b").entry is None

        fresh = here.recall("token:b")
        here.remember("token:b", fresh, user)
        assert here.recall("token:b").entry is not None  # nothing changed meanwhile: kept
    finally:
        client.delete(key)
