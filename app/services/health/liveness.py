"""Liveness: the process answers and reaches its database (not SHAR, not the queues)."""

from __future__ import annotations

from sqlalchemy import text

from app.core.extensions import db


def database_answers() -> None:
    """One round trip to the database; raises when it cannot be reached."""
    db.session.execute(text("SELECT 1"))
