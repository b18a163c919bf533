"""Checking a sign-in with the same work whether or not the account exists.

An unknown e-mail (or a deactivated account) is checked against a dummy hash made with
the same method and cost as real ones, so the answer takes as long as a wrong password
and timing does not reveal which addresses have accounts.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.extensions import db
from app.models import User


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password, made like every stored one (werkzeug's default method)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def verify(password_hash: str, password: str) -> bool:
    """The one place a password is checked against a hash."""
    return check_password_hash(password_hash, password)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None; always runs exactly one hash check."""
    user = db.session.scalars(select(User).where(User.email == (email or "").strip().lower())).first()
    if user is None:
        verify(dummy_hash(), password)
        return None
    matches = verify(user.password_hash, password)
    return user if matches and user.active else None
