"""Sign-out and password change end existing sessions; a copied cookie stops working; Secure cookies."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.core.config import Settings
from app.core.extensions import db
from tests.support.factories import refresh
from tests.web.conftest import csrf_from


def _copy_session(app, client):  # type: ignore[no-untyped-def]
    """A second browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _get(client, url: str = "/"):  # type: ignore[no-untyped-def]
    """A request in its own app context, as on a server: nothing cached in `g` from earlier requests."""
    with client.application.app_context():
        return client.get(url)


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return _get(client).status_code == 200


def test_a_copied_cookie_stops_working_after_sign_out(app, client, sign_in, post) -> None:
    sign_in("user", "ann@example.com")
    thief = _copy_session(app, client)
    assert _signed_in(thief)  # the copy works while the session lives: this is what sign-out must end
    assert post("/logout").status_code == 302
    assert not _signed_in(client)
    response = _get(thief)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_ends_existing_sessions(app, client, sign_in) -> None:
    user = sign_in("user", "ann@example.com")
    thief = _copy_session(app, client)
    assert _signed_in(thief)
    user = refresh(user)
    user.set_password("a-new-password-9")
    db.session.commit()
    assert not _signed_in(client)
    assert not _signed_in(thief)
    # The new password signs in again.
    with app.app_context():
        token = csrf_from(client.get("/login").get_data(as_text=True))
        answer = client.post(
            "/login", data={"email": "ann@example.com", "password": "a-new-password-9", "csrf_token": token}
        )
    assert answer.status_code == 302 and _signed_in(client)
    assert not _signed_in(thief)


def test_deactivation_ends_sessions_so_reactivating_does_not_revive_them(app, client, sign_in) -> None:
    from app.services.actors import CLI
    from app.services.users import update_user

    user = sign_in("user", "ann@example.com")
    assert _signed_in(client)
    update_user(user.id, actor=CLI, role="user", active=False)
    assert not _signed_in(client)
    update_user(user.id, actor=CLI, role="user", active=True)
    assert not _signed_in(client)  # signing in again is needed


def test_signing_out_elsewhere_ends_this_session_too(app, client, sign_in) -> None:
    sign_in("user", "ann@example.com")
    other = _copy_session(app, client)
    with app.app_context():
        other.post("/logout", data={"csrf_token": csrf_from(_get(other).get_data(as_text=True))})
    assert not _signed_in(client)


def test_a_session_from_before_session_keys_is_signed_out(app, client, sign_in) -> None:
    user = sign_in("user", "ann@example.com")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)  # the old form: the id alone
    assert not _signed_in(client)


def test_session_cookie_secure_defaults_follow_the_base_url(tmp_path: Path) -> None:
    def secure(env: dict[str, str]) -> bool:
        return Settings.from_env({"SHARBOARD_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x", **env}).flask_config()[
            "SESSION_COOKIE_SECURE"
        ]

    assert secure({}) is False
    assert secure({"SHARBOARD_BASE_URL": "http://dash.example"}) is False
    assert secure({"SHARBOARD_BASE_URL": "https://dash.example"}) is True
    assert secure({"SHARBOARD_BASE_URL": "https://dash.example", "SESSION_COOKIE_SECURE": "false"}) is False
    assert secure({"SESSION_COOKIE_SECURE": "true"}) is True


def test_secure_cookie_is_sent_with_the_secure_flag(make_app) -> None:
    from tests.support.factories import make_user
    from tests.web.conftest import PASSWORD

    app = make_app(base_url="https://dash.example")
    client = app.test_client()
    make_user("ann@example.com", "user", PASSWORD)
    token = csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_migration_gives_existing_users_a_session_key(tmp_path: Path) -> None:
    app = create_app(database_url=f"sqlite:///{tmp_path / 'm.db'}", instance_dir=str(tmp_path), secret_key="x")
    with app.app_context():
        upgrade(revision="da3878dabf23")
        db.session.execute(
            text(
                "INSERT INTO users (email, name, password_hash, role, active, email_notifications,"
                " created_at) VALUES ('a@x', 'a', 'h', 'user', 1, 1, '2026-01-01'),"
                " ('b@x', 'b', 'h', 'user', 1, 1, '2026-01-01')"
            )
        )
        db.session.commit()
        upgrade()
        keys = [k for (k,) in db.session.execute(text("SELECT session_key FROM users"))]
        assert len(keys) == 2 and all(len(k) == 32 for k in keys) and keys[0] != keys[1]
        db.session.remove()
        db.engine.dispose()
