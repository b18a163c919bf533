"""Single sign-on: which claim of the identity provider gives the role, and the value -> role rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db
from app.models._base import utcnow

REFUSE = "refuse"  # a default role meaning: whoever matches no row may not sign in


class SsoPolicy(db.Model):
    """One row (id 1), made on the first save; before it, the defaults of app.services.single_sign_on."""

    __tablename__ = "sso_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A claim name, or a dotted path into nested claims ("realm_access.roles").
    claim: Mapped[str] = mapped_column(String(100), default="groups")
    default_role: Mapped[str] = mapped_column(String(16), default=REFUSE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SsoRoleRule(db.Model):
    """A person whose claim holds `claim_value` gets `role` (the highest role of the rows they match)."""

    __tablename__ = "sso_role_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_value: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(16))
