"""Bearer tokens: `Authorization: Bearer <token>`, looked up by their SHA-256."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from app.api.responses import fail
from app.extensions import db
from app.models import ApiToken, User
from app.models._base import utcnow

F = TypeVar("F", bound=Callable[..., Any])


def api_user() -> User:
    return g.api_user


def own_instances_only() -> int | None:
    """The caller's id when they may see only their own instances (plain users); None for all."""
    user = api_user()
    return user.id if user.role == "user" else None


def token_required(*, write: bool = False) -> Callable[[F], F]:
    """401 without a valid token; 403 when `write` and the user is a read-only viewer."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = _user_from_header(request.headers.get("Authorization", ""))
            if user is None:
                return fail("a valid API token is required (Authorization: Bearer <token>)", 401,
                            {"Authorization": ["missing, unknown, revoked, or its user is deactivated"]},
                            headers={"WWW-Authenticate": 'Bearer realm="sharboard"'})
            if write and not user.can_write:
                return fail(f"the {user.role} role is read-only", 403)
            g.api_user = user
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def _user_from_header(header: str) -> User | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.query(ApiToken).filter_by(token_hash=ApiToken.hash(token.strip())).one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):  # one write a minute at most
        row.last_used_at = now
        db.session.commit()
    return row.user
