"""Fixtures for page tests: a test client with CSRF on, and signing in as a role."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.factories import make_user

PASSWORD = "correct-horse-1"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[..., Any]:
    """Create a user of `role` and sign the client in as them."""

    def sign(role: str = "user", email: str | None = None) -> Any:
        user = make_user(email or f"{role}@example.com", role, PASSWORD)
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return sign


@pytest.fixture
def post(client: FlaskClient) -> Callable[..., Any]:
    """POST a form with a valid CSRF token taken from `page`."""

    def send(url: str, data: dict[str, Any] | None = None, *, page: str = "/", **kwargs: Any) -> Any:
        token = csrf_from(client.get(page).get_data(as_text=True))
        return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)

    return send
