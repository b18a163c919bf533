"""API test helpers: tokens for users of each role, and a client that sends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.core.extensions import db
from app.models import ApiToken
from tests.support.factories import make_user


@pytest.fixture
def token_for(app: Flask) -> Callable[..., str]:
    def issue(role: str = "user", email: str | None = None) -> str:
        user = make_user(email or f"{role}-api@example.com", role)
        token, plain = ApiToken.issue(user, "test")
        db.session.add(token)
        db.session.commit()
        return plain

    return issue


@pytest.fixture
def api(app: Flask, token_for: Callable[..., str]) -> Any:
    """A test client signed with a user's token: api.post(path, json=...)."""
    client = app.test_client()
    token = token_for("user", "ann@example.com")

    class Api:
        def __init__(self, bearer: str) -> None:
            self.headers = {"Authorization": f"Bearer {bearer}"}

        def as_role(self, role: str, email: str | None = None) -> Api:
            return Api(token_for(role, email))

        def __getattr__(self, method: str) -> Callable[..., Any]:
            def call(path: str, **kwargs: Any) -> Any:
                headers = {**self.headers, **kwargs.pop("headers", {})}
                return getattr(client, method)(path, headers=headers, **kwargs)

            return call

    return Api(token)


def bearer_for(role: str = "user", email: str | None = None) -> dict[str, str]:
    """A new user of `role` in the current app's database, and the header carrying their token."""
    user = make_user(email or f"{role}-{role}@example.com", role)
    token, plain = ApiToken.issue(user, "test")
    db.session.add(token)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}
