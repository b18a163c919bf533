"""Users, roles and API tokens: one set of rules for the admin page, the CLI and `flask shar up`."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.config import current_settings
from app.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.core.extensions import commit_keeping_loaded, db
from app.models import ROLES, ApiToken, User
from app.models._base import utcnow
from app.security import passwords, principals, sessions
from app.services.access import require_admin
from app.services.actors import Actor
from app.services.audit import audit
from app.services.rows import required

TOKEN_STAMP_EVERY = timedelta(minutes=1)  # a token's last use is written once a minute at most

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class NewUser:
    user: User
    password: str
    generated: bool  # the password was made here and must be shown once


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plain: str  # shown once; only its hash is stored


def create_user(
    email: str, *, actor: Actor, password: str | None = None, role: str = "user", name: str = ""
) -> NewUser:
    """Create a user; a password is generated when none is given."""
    require_admin(actor)
    email = _check_email(email)
    if role not in ROLES:
        raise InvalidInput.field("role", f"role must be one of {', '.join(ROLES)}")
    generated = not password
    password = password or secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field("password", f"the password must have at least {MIN_PASSWORD} characters")
    if find_user(email) is not None:
        raise Conflict(f"a user {email} exists already")
    user = User(email=email, name=name or email.split("@")[0], role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit(actor, "user.create", "user", user.id, after={"email": email, "role": role})
    db.session.commit()
    return NewUser(user, password, generated)


def ensure_admin(email: str, password: str | None, *, actor: Actor) -> NewUser | None:
    """The first admin for `flask shar up`: created once, None when an admin exists already."""
    if db.session.scalars(select(User.id).where(User.role == "admin").limit(1)).first() is not None:
        return None
    return create_user(email, actor=actor, password=password, role="admin")


def update_user(user_id: int, *, actor: Actor, role: str, active: bool) -> User:
    require_admin(actor)
    user = _user(user_id)
    if role not in ROLES:
        raise InvalidInput.field("role", f"role must be one of {', '.join(ROLES)}")
    if user.id == actor.id and (role != "admin" or not active):
        raise Conflict("you cannot demote or deactivate yourself")
    before = {"role": user.role, "active": user.active}
    if user.active and not active:
        # Deactivation ends their sessions: reactivating them later must not revive an old cookie.
        sessions.end_all_sessions(user)
    user.role, user.active = role, active
    audit(actor, "user.update", "user", user.id, before=before, after={"role": role, "active": active})
    db.session.commit()
    return user


def list_users(*, actor: Actor) -> list[User]:
    require_admin(actor)
    return list(db.session.scalars(select(User).order_by(User.email)))


def form_choices(user: User) -> dict[str, list[tuple[str, str, bool]]]:
    """The user form's options (value, label, chosen) with the user's current role and state chosen:
    the admin page shows them and decides nothing."""
    return {
        "role": [(role, role, role == user.role) for role in ROLES],
        "active": [("on", "active", user.active), ("off", "deactivated", not user.active)],
    }


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == (email or "").strip().lower())).first()


def acting_user(email: str) -> User:
    """The user named by e-mail as the actor of a call from code (app.python_api): an existing,
    active user, as signing in would require."""
    user = find_user(email) if isinstance(email, str) else None
    if user is None:
        raise NotFound(f"no user {email}")
    if not user.active:
        raise PermissionDenied(f"user {user.email} is deactivated")
    return user


def issue_token(*, actor: Actor, user_id: int | None = None, email: str | None = None, name: str = "") -> NewToken:
    """A new API token for a user (by id or e-mail); admins only."""
    require_admin(actor)
    user = _user(user_id) if user_id is not None else find_user(email or "")
    if user is None:
        raise NotFound(f"no user {email}")
    token, plain = ApiToken.issue(user, name or "token")
    db.session.add(token)
    db.session.flush()
    audit(actor, "token.create", "user", user.id, after={"token_id": token.id, "prefix": token.prefix})
    db.session.commit()
    return NewToken(token, plain)


def revoke_token(token_id: int, *, actor: Actor) -> ApiToken:
    require_admin(actor)
    token = required(ApiToken, token_id, "token")
    token.revoked_at = token.revoked_at or utcnow()
    audit(actor, "token.revoke", "user", token.user_id, after={"token_id": token.id})
    db.session.commit()
    return token


# -- signing in ---------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None: one answer, and the same hashing
    work, for every failure (app.security.passwords). Refused outright when local passwords are off."""
    if not current_settings().local_passwords:
        raise PermissionDenied("Password sign-in is turned off here: sign in through your identity provider.")
    return passwords.authenticate(email, password)


def load_session_user(stored_id: str) -> User | None:
    """The signed-in user a session names, while its session key is current (app.security.sessions)."""
    return sessions.load_user(stored_id)


def sign_out() -> None:
    """Sign the current user out here and in every copy of their session."""
    sessions.sign_out()


def user_for_token(plain: str) -> User | None:
    """The active user holding this unrevoked API token, or None."""
    token_hash = ApiToken.hash(plain)
    memory, key = principals.memory(), principals.token_key(token_hash)
    recalled = memory.recall(key)
    now = utcnow()
    if recalled.entry is not None and now - recalled.entry["last_used_at"] <= TOKEN_STAMP_EVERY:
        return principals.user_from(recalled.entry, db.session)
    # Token and user in one query: what a process does not remember yet.
    row = db.session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == token_hash)
    ).first()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOKEN_STAMP_EVERY:
        row.last_used_at = now
        commit_keeping_loaded()
    memory.remember(key, recalled, row.user, last_used_at=row.last_used_at)
    return row.user


def set_email_notifications(*, actor: Actor, enabled: bool) -> None:
    """A user's own preference."""
    user = _user(actor.id) if actor.id is not None else None
    if user is None:
        raise NotFound("no such user")
    user.email_notifications = enabled
    db.session.commit()


def _user(user_id: int | None) -> User:
    return required(User, user_id, "user")


def _check_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        raise InvalidInput.field("email", "give an e-mail address such as ana@example.com")
    return email.strip().lower()
