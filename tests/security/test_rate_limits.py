"""Sign-in and API rate limits: 429 with Retry-After, and the same hashing work for unknown e-mails."""

from __future__ import annotations

import pytest

from app.security import passwords
from tests.support.factories import make_user
from tests.support.servers import wait_until
from tests.web.conftest import PASSWORD, csrf_from


def _sign_in(client, email: str, password: str, **kwargs):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


@pytest.fixture
def limited_app(make_app):  # type: ignore[no-untyped-def]
    return make_app(
        signin_limit_per_email="3 per 6 seconds",
        signin_limit_per_address="5 per 30 seconds",
        api_rate_limit="4 per 30 seconds",
    )


def test_wrong_passwords_lock_the_email_even_for_the_right_password_until_the_window_passes(limited_app) -> None:
    client = limited_app.test_client()
    make_user("ann@example.com", "user", PASSWORD)
    for _ in range(3):
        assert _sign_in(client, "ann@example.com", "wrong").status_code == 401
    refused = _sign_in(client, "ann@example.com", PASSWORD)
    assert refused.status_code == 429
    # The 6 s window, plus the second the limits library may round its reset time up by.
    assert 1 <= int(refused.headers["Retry-After"]) <= 7
    page = refused.get_data(as_text=True)
    assert "Too many failed sign-ins for this e-mail address" in page and "Try again in" in page
    # Still refused, right password or not, until the window passes; then the right password works.
    answers = []

    def admitted() -> bool:
        answers.append(_sign_in(client, "ann@example.com", PASSWORD))
        return answers[-1].status_code != 429

    wait_until(admitted, timeout=20, interval=0.05, what="the sign-in refusal to end after Retry-After")
    assert answers[-1].status_code == 302
    assert len(answers) > 1, "the right password was accepted at once, inside the window"


def test_limit_per_client_address_across_emails(limited_app) -> None:
    client = limited_app.test_client()
    make_user("ann@example.com", "user", PASSWORD)
    for n in range(5):
        assert _sign_in(client, f"nobody{n}@example.com", "wrong").status_code == 401
    assert _sign_in(client, "ann@example.com", PASSWORD).status_code == 429
    # Another address is not affected.
    other = _sign_in(client, "ann@example.com", PASSWORD, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 302


def test_successful_sign_ins_do_not_count(limited_app) -> None:
    client = limited_app.test_client()
    make_user("ann@example.com", "user", PASSWORD)
    for _ in range(6):
        assert _sign_in(client, "ann@example.com", PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})


def test_api_is_limited_per_token_with_json_429(limited_app) -> None:
    from tests.api.conftest import bearer_for

    client = limited_app.test_client()
    ann, bob = bearer_for("user", "ann@example.com"), bearer_for("user", "bob@example.com")
    for _ in range(4):
        assert client.get("/api/shar/instances", headers=ann).status_code == 200
    refused = client.get("/api/shar/instances", headers=ann)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.get_json()
    assert body["success"] is False and "API token" in body["message"]
    assert client.get("/api/shar/instances", headers=bob).status_code == 200


def test_made_up_tokens_share_their_address_limit_and_a_valid_token_keeps_its_own(limited_app) -> None:
    from tests.api.conftest import bearer_for

    client = limited_app.test_client()
    ann = bearer_for("user", "ann@example.com")
    # A new made-up token each time: each would have had a fresh limit of its own.
    answers = [client.get("/api/shar/instances", headers={"Authorization": f"Bearer made-up-{n}"}) for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 4 + [429]
    assert "your address" in answers[-1].get_json()["message"]
    assert client.get("/api/shar/instances").status_code == 429  # no token at all: the same address
    # Another address, and a valid token from this one, are not affected.
    assert client.get("/api/shar/instances", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 401
    assert client.get("/api/shar/instances", headers=ann).status_code == 200


def test_unknown_and_known_emails_both_run_one_password_hash(client, app, monkeypatch) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    inactive = make_user("old@example.com", "user", PASSWORD)
    inactive.active = False
    from app.core.extensions import db

    db.session.commit()
    checked: list[str] = []
    real_verify = passwords.verify

    def counting_verify(password_hash: str, password: str) -> bool:
        checked.append(password_hash.split("$", 1)[0])  # the method: same cost for dummy and real
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify", counting_verify)
    for email in ("ann@example.com", "who@example.com", "old@example.com"):
        checked.clear()
        assert _sign_in(client, email, "wrong").status_code == 401
        assert len(checked) == 1, email
        assert checked[0] == passwords.dummy_hash().split("$", 1)[0], email


def test_limits_are_kept_in_redis_when_redis_url_is_set(app, client) -> None:
    import redis

    from app.core.config import current_settings
    from app.security.rate_limits import _key_prefix
    from tests.support.stack import REDIS_URL

    prefix = _key_prefix(current_settings())
    store = redis.Redis.from_url(REDIS_URL)
    assert not store.keys(f"*{prefix}*")
    assert _sign_in(client, "ann@example.com", "wrong").status_code == 401
    assert store.keys(f"*{prefix}*signin*"), "the failed sign-in was not counted in Redis"
    store.delete(*store.keys(f"*{prefix}*"))


def test_sign_in_still_works_when_the_limit_storage_is_down(make_app) -> None:
    # Nothing listens on port 9: Redis is "down"; sign-in answers as usual, the limits count in memory.
    app = make_app(redis_url="redis://127.0.0.1:9/0", signin_limit_per_email="2 per 30 seconds")
    client = app.test_client()
    make_user("ann@example.com", "user", PASSWORD)
    assert _sign_in(client, "ann@example.com", "wrong").status_code == 401
    assert _sign_in(client, "ann@example.com", "wrong").status_code == 401
    assert _sign_in(client, "ann@example.com", PASSWORD).status_code == 429  # counted in memory meanwhile
