"""The request's bearer token (`Authorization: Bearer <token>`) and its user, found once per request.

The API's rate limit keys on it before the view runs and the view's `token_required` needs the
same answer: looked up once, both read it here. A token that names no active user counts as none,
so made-up tokens share their client address's limit instead of each getting a fresh one."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from app.models import ApiToken, User
from app.services.users import user_for_token

ENVIRON_KEY = "sharboard.bearer"


@dataclass(frozen=True)
class Bearer:
    token_hash: str
    user: User


def bearer() -> Bearer | None:
    """The valid token of this request and its user; None without one or for one no active user holds."""
    # Kept in the request's environ, not in g: g outlives the request where an app context was
    # already pushed (a test, a CLI), and a revoked token must be looked up again next request.
    if ENVIRON_KEY not in request.environ:
        request.environ[ENVIRON_KEY] = _look_up()
    return request.environ[ENVIRON_KEY]


def _look_up() -> Bearer | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    user = user_for_token(token)
    return Bearer(ApiToken.hash(token), user) if user is not None else None
