"""Users, their roles and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import generate_password_hash

from app.core.extensions import db
from app.models._base import utcnow


def new_session_key() -> str:
    """A fresh session key: replacing a user's key ends every session made with the old one."""
    return secrets.token_hex(16)


ROLES = ("user", "viewer", "admin")
# The password hash of an account made by single sign-on: no password ever matches it (werkzeug
# refuses a hash without its "method$salt$hash" parts).
NO_PASSWORD = "!"
TOKEN_PREFIX = "shb_"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    active: Mapped[bool] = mapped_column(default=True)
    email_notifications: Mapped[bool] = mapped_column(default=True)
    # The IANA zone the pages show times in (app.services.time_zones); None shows UTC.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of the signed-in session; replaced on sign-out and password change (app.security.sessions).
    session_key: Mapped[str] = mapped_column(String(64), default=new_session_key)
    # "<issuer> <sub>" of the identity-provider account this user signs in with (single sign-on), if any.
    sso_subject: Mapped[str | None] = mapped_column(String(512), unique=True)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.session_key = new_session_key()  # a new password ends every existing session

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: "<id>:<key>" (app.security.sessions checks it)."""
        return f"{self.id}:{self.session_key}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        """Viewers read everything they may see and change nothing."""
        return self.role in ("user", "admin")

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """A new token row and the plain token, which is never stored."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return cls(user=user, name=name, token_hash=cls.hash(plain), prefix=plain[:12]), plain
