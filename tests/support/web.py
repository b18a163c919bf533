"""Browsing as a user from a test: several signed-in clients in one test, each with its own session."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, f"no CSRF token on the page: {html[:300]}"
    return match.group(1)


def forget_request_user() -> None:
    # A test's app context is shared by every request it makes, and Flask-Login and
    # Flask-WTF cache the signed-in user and the CSRF token in `g`: drop them between clients.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


class Browser:
    """A test client signed in as one user; get() and post() (forms, with a fresh CSRF token)."""

    def __init__(self, app: Flask, email: str, password: str) -> None:
        self.client = app.test_client()
        forget_request_user()
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        signed = self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert signed.status_code == 302, signed.get_data(as_text=True)[:500]

    def get(self, url: str, **kwargs: Any) -> Any:
        forget_request_user()
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        forget_request_user()
        csrf = csrf_from(self.client.get("/notifications").get_data(as_text=True))
        forget_request_user()
        return self.client.post(
            url, data={**(data or {}), "csrf_token": csrf}, content_type="multipart/form-data", **kwargs
        )
