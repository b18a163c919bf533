"""Rows and files the tests need."""

from __future__ import annotations

from pathlib import Path

from app.core.extensions import db
from app.models import User

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def bpmn(name: str) -> str:
    """The text of tests/fixtures/bpmn/<name>.bpmn."""
    return (FIXTURES / f"{name}.bpmn").read_text()


def make_user(email: str = "ann@example.com", role: str = "user", password: str = "pw-ann-123") -> User:
    user = User(email=email, name=email.split("@")[0], role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def refresh(row):  # type: ignore[no-untyped-def]
    """Re-read a row: other processes change it."""
    db.session.expire_all()
    return db.session.get(type(row), row.id)
