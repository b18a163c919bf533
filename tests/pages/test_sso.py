"""Single sign-on through a real OpenID provider (tests/oidc_provider), driven over HTTP: the account
made on the first sign-in with the mapped role, refusals (unverified e-mail, no role, deactivated,
a wrong state), ID tokens changed on their way (another key, altered, unsigned, missing) refused,
password sign-in turned off, and logout sent on to the provider."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry, User
from app.services import single_sign_on
from app.services.actors import CLI
from app.services.users import issue_token, update_user
from tests.support.factories import make_user
from tests.support.oidc import TamperingProxy, password, sign_in_at_provider
from tests.support.web import csrf_from, forget_request_user

BASE = "http://localhost"
pytestmark = pytest.mark.services  # a real OpenID provider and Redis, whichever fixtures a test names


@pytest.fixture
def overrides(overrides: dict[str, Any], oidc_provider: Any) -> dict[str, Any]:
    return {**overrides, **oidc_provider.register(BASE)}


@pytest.fixture
def mapping(app: Any) -> None:
    single_sign_on.save_mapping(
        actor=CLI, claim="groups", default_role="refuse", rules=[("ops-admins", "admin"), ("staff", "user")]
    )


def sso(client: Any, login: str) -> Any:
    """Click "Sign in with…", sign in at the provider, and come back: the dashboard's answer to the callback."""
    forget_request_user()
    start = client.get("/login/sso")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
    back = sign_in_at_provider(start.headers["Location"], login, password(login), f"{BASE}/login/sso/callback")
    forget_request_user()
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def who(client: Any) -> int:
    forget_request_user()
    return client.get("/").status_code


def actions(email: str) -> list[str]:
    user = db.session.scalars(select(User).where(User.email == email)).one()
    return [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == str(user.id)))]


def test_the_first_sign_in_creates_the_account_with_the_mapped_role(app, mapping) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    answer = sso(client, "alice")
    assert answer.status_code == 302 and who(client) == 200
    alice = db.session.scalars(select(User).where(User.email == "alice@example.com")).one()
    assert (alice.role, alice.sso_subject, alice.name) == ("admin", f"{app_issuer(app)} alice", "Alice")
    assert "user.sso_created" in actions("alice@example.com")
    # The mapping changes: her next sign-in gives her the new role, audited.
    single_sign_on.save_mapping(actor=CLI, claim="groups", default_role="refuse", rules=[("staff", "viewer")])
    assert who(client) == 302  # the change ended her session
    assert sso(app.test_client(), "alice").status_code == 302
    db.session.refresh(alice)
    assert alice.role == "viewer" and "user.sso_role_changed" in actions("alice@example.com")


def app_issuer(app: Any) -> str:
    return app.config["SHARBOARD_SETTINGS"].oidc_discovery_url.removesuffix("/.well-known/openid-configuration")


@pytest.mark.parametrize(
    ("login", "reason"),
    [("carol", "no verified e-mail"), ("dave", "not given a role")],
)
def test_refused_without_a_verified_email_or_a_role(app, mapping, login, reason) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    answer = sso(client, login)
    assert answer.status_code == 403 and reason in answer.get_data(as_text=True)
    assert who(client) == 302
    assert db.session.scalars(select(User).where(User.email == f"{login}@example.com")).first() is None


def test_a_default_role_admits_whoever_matches_no_row(app) -> None:  # type: ignore[no-untyped-def]
    single_sign_on.save_mapping(actor=CLI, claim="groups", default_role="viewer", rules=[("ops-admins", "admin")])
    assert sso(app.test_client(), "dave").status_code == 302
    assert db.session.scalars(select(User.role).where(User.email == "dave@example.com")).one() == "viewer"


def test_a_deactivated_account_stays_out_and_deactivation_ends_its_session(app, mapping) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert sso(client, "bob").status_code == 302 and who(client) == 200
    bob = db.session.scalars(select(User).where(User.email == "bob@example.com")).one()
    update_user(bob.id, actor=CLI, role="user", active=False)
    assert who(client) == 302
    again = sso(app.test_client(), "bob")
    assert again.status_code == 403 and "deactivated" in again.get_data(as_text=True)


def test_a_local_account_with_the_same_verified_email_is_linked_not_duplicated(app, mapping) -> None:  # type: ignore[no-untyped-def]
    make_user("bob@example.com", "viewer", "local-pass-1")
    assert sso(app.test_client(), "bob").status_code == 302
    bob = db.session.scalars(select(User).where(User.email == "bob@example.com")).one()
    assert bob.sso_subject.endswith(" bob") and bob.role == "user"
    assert {"user.sso_linked", "user.sso_role_changed"} <= set(actions("bob@example.com"))


def test_a_callback_with_another_state_is_refused(app, mapping) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    start = client.get("/login/sso")
    back = sign_in_at_provider(start.headers["Location"], "bob", password("bob"), f"{BASE}/login/sso/callback")
    parts = urlsplit(back)
    forged = parts.query.replace("state=", "state=x")
    answer = client.get(f"{parts.path}?{forged}")
    assert answer.status_code == 401 and who(client) == 302


# -- ID tokens changed between the provider and the dashboard ----------------------------------


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    return json.loads(pad(header)), json.loads(pad(payload))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _promoted(claims: dict[str, Any]) -> dict[str, Any]:
    return {**claims, "groups": ["ops-admins"]}  # bob (staff) claiming the admins' group


def resigned_with_another_key(token: str) -> str:
    header, claims = _parts(token)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = RSAKey.import_key(private, {"kid": header["kid"]})  # the provider's key id, not its key
    return jwt.encode({"alg": "RS256", "kid": header["kid"]}, _promoted(claims), key)


def altered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{_b64(_promoted(_parts(token)[1]))}.{signature}"


def unsigned(token: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_promoted(_parts(token)[1]))}."


def removed(token: str) -> None:
    return None


def unchanged(token: str) -> str:
    return token


@pytest.fixture
def proxy(request: pytest.FixtureRequest, oidc_provider: Any) -> Iterator[TamperingProxy]:
    middle = TamperingProxy(oidc_provider, request.param)
    yield middle
    middle.stop()


@pytest.fixture
def overrides_via_proxy(overrides: dict[str, Any], proxy: TamperingProxy) -> dict[str, Any]:
    return {**overrides, "oidc_discovery_url": proxy.discovery_url}


@pytest.mark.parametrize("proxy", [resigned_with_another_key, altered, unsigned, removed], indirect=True)
def test_an_id_token_changed_on_its_way_is_refused(proxy, overrides_via_proxy) -> None:  # type: ignore[no-untyped-def]
    _refused_or_not(overrides_via_proxy, refused=True)


@pytest.mark.parametrize("proxy", [unchanged], indirect=True)
def test_the_same_path_with_the_token_unchanged_signs_in(proxy, overrides_via_proxy) -> None:  # type: ignore[no-untyped-def]
    _refused_or_not(overrides_via_proxy, refused=False)


def _refused_or_not(settings: dict[str, Any], *, refused: bool) -> None:
    from tests.support.stack import build_app

    application = build_app(**settings)
    with application.app_context():
        single_sign_on.save_mapping(
            actor=CLI, claim="groups", default_role="refuse", rules=[("ops-admins", "admin"), ("staff", "user")]
        )
        client = application.test_client()
        answer = sso(client, "bob")
        bob = db.session.scalars(select(User).where(User.email == "bob@example.com")).first()
        if refused:
            assert answer.status_code == 401 and "refused" in answer.get_data(as_text=True)
            assert who(client) == 302 and bob is None
        else:
            assert answer.status_code == 302 and who(client) == 200 and bob.role == "user"


# -- local passwords off, and logout ------------------------------------------------------------


@pytest.fixture
def no_passwords(overrides: dict[str, Any]) -> dict[str, Any]:
    return {**overrides, "local_passwords": False}


def test_with_local_passwords_off_only_single_sign_on_and_api_tokens_sign_in(no_passwords) -> None:  # type: ignore[no-untyped-def]
    from tests.support.stack import build_app

    application = build_app(**no_passwords)
    with application.app_context():
        make_user("ann@example.com", "admin", "ann-pass-123")
        client = application.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert "Sign in with Test IdP" in page and 'name="password"' not in page
        answer = client.post(
            "/login", data={"email": "ann@example.com", "password": "ann-pass-123", "csrf_token": csrf_from(page)}
        )
        assert answer.status_code == 403 and who(client) == 302
        token = issue_token(actor=CLI, email="ann@example.com").plain
        assert client.get("/api/shar/workflows", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_logout_of_a_single_sign_on_session_goes_on_to_the_provider(app, mapping) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    sso(client, "bob")
    forget_request_user()
    csrf = csrf_from(client.get("/").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": csrf})
    page = answer.get_data(as_text=True)
    end_session = f"{app_issuer(app)}/session/end?"
    assert answer.status_code == 200 and f'content="0;url={end_session}' in page
    assert "id_token_hint=" in page and who(client) == 302


# -- the admin page --------------------------------------------------------------------------


def test_an_admin_edits_the_mapping_on_its_page_and_others_may_not(app, mapping) -> None:  # type: ignore[no-untyped-def]
    from tests.support.web import Browser

    make_user("root@example.com", "admin", "root-pass-1")
    make_user("ann@example.com", "user", "ann-pass-123")
    signed_in = app.test_client()
    assert sso(signed_in, "bob").status_code == 302 and who(signed_in) == 200
    admin = Browser(app, "root@example.com", "root-pass-1")
    page = admin.get("/admin/sso").get_data(as_text=True)
    assert 'value="ops-admins"' in page and 'value="staff"' in page
    saved = admin.post(
        "/admin/sso",
        {
            "claim": "roles",
            "default_role": "viewer",
            "value": ["ops-admins", "staff", ""],
            "role": ["admin", "viewer", "user"],
        },
    )
    assert saved.status_code == 302
    assert single_sign_on.current_mapping() == single_sign_on.RoleMapping(
        "roles", "viewer", (("ops-admins", "admin"), ("staff", "viewer"))
    )
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "sso.mapping_change")).all()[-1]
    assert entry.actor_name == "root@example.com" and entry.after["claim"] == "roles"
    assert who(signed_in) == 302  # bob's single sign-on session ended with the change
    refused = admin.post("/admin/sso", {"claim": "has space", "default_role": "viewer"})
    assert refused.status_code == 302 and single_sign_on.current_mapping().claim == "roles"
    assert Browser(app, "ann@example.com", "ann-pass-123").get("/admin/sso").status_code == 403
