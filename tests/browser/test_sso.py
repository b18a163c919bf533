"""In Chromium: single sign-on through a real OpenID provider (tests/oidc_provider, npm oidc-provider).
"Sign in with Test IdP" leads to the provider's own sign-in page (a wrong password is refused there)
and consent page, and back, signed in with the role the admin's mapping gives the account's groups;
a mapping change and a deactivation end the session; signing out goes through the provider's
logout, so the next sign-in asks for the password again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from app.core.extensions import db
from app.models import User
from app.services import single_sign_on
from app.services.actors import CLI
from app.services.users import update_user
from tests.browser.conftest import screenshot
from tests.support.oidc import NAME, password
from tests.support.servers import free_port, serving


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def overrides(overrides: dict[str, Any], oidc_provider: Any, port: int) -> dict[str, Any]:
    """The provider knows this dashboard's callback, on a port chosen before it starts."""
    return {**overrides, **oidc_provider.register(f"http://127.0.0.1:{port}")}


@pytest.fixture
def sso_url(app: Any, port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    serving(server)
    single_sign_on.save_mapping(
        actor=CLI, claim="groups", default_role="refuse", rules=[("ops-admins", "admin"), ("staff", "user")]
    )
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def _through_the_provider(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_role("link", name=f"Sign in with {NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(password(login))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()  # each test's client is new: consent is asked


def test_sign_in_through_the_provider_with_the_mapped_role_until_the_mapping_or_the_account_changes(
    app, sso_url, page
) -> None:  # type: ignore[no-untyped-def]
    _through_the_provider(page, sso_url, "alice")
    expect(page.locator(".who .user")).to_contain_text("alice@example.com")
    expect(page.locator(".who .role")).to_have_text("admin")
    expect(page.locator("summary", has_text="Admin")).to_be_visible()
    screenshot(page, "sso-signed-in")

    # An admin changes the mapping: her session ends; signing in again (the provider knows her) gives the new role.
    single_sign_on.save_mapping(actor=CLI, claim="groups", default_role="refuse", rules=[("ops-admins", "viewer")])
    page.reload()
    expect(page).to_have_url(f"{sso_url}/login?next=%2F")
    page.get_by_role("link", name=f"Sign in with {NAME}").click()
    expect(page.locator(".who .role")).to_have_text("viewer")
    expect(page.locator("summary", has_text="Admin")).to_have_count(0)

    # Deactivated: the session ends, and the provider's word no longer lets her in.
    alice = db.session.scalars(select(User).where(User.email == "alice@example.com")).one()
    update_user(alice.id, actor=CLI, role="viewer", active=False)
    page.reload()
    expect(page).to_have_url(f"{sso_url}/login?next=%2F")
    page.get_by_role("link", name=f"Sign in with {NAME}").click()
    expect(page.get_by_role("alert")).to_contain_text("This account is deactivated.")
    expect(page.locator(".who .user")).to_have_count(0)


def test_signing_out_goes_through_the_provider(app, sso_url, page) -> None:  # type: ignore[no-untyped-def]
    _through_the_provider(page, sso_url, "bob")
    expect(page.locator(".who .role")).to_have_text("user")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign out of the test provider?")).to_be_visible()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(re.escape(f"{sso_url}/login") + r"(\?state=.*)?$"))
    expect(page.locator(".who .user")).to_have_count(0)
    # The provider's session ended too: the next sign-in asks for the password again.
    page.get_by_role("link", name=f"Sign in with {NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
