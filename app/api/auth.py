"""Bearer tokens: `Authorization: Bearer <token>`. Who may do what is the services' to decide."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g

from app.api.responses import fail
from app.models import User
from app.security.bearer import bearer

F = TypeVar("F", bound=Callable[..., Any])


def api_user() -> User:
    return g.api_user


def token_required(view: F) -> F:
    """401 without a valid token; otherwise the token's user is the actor of the call."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        found = bearer()
        if found is None:
            return fail(
                "a valid API token is required (Authorization: Bearer <token>)",
                401,
                {"Authorization": ["missing, unknown, revoked, or its user is deactivated"]},
                headers={"WWW-Authenticate": 'Bearer realm="sharboard"'},
            )
        g.api_user = found.user
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
