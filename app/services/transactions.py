"""The unit of work seen from a front door: what to do with it when a request fails."""

from __future__ import annotations

from app.core.extensions import db


def discard_changes() -> None:
    """Drop whatever a failed operation left in the session, so nothing half-done is committed."""
    db.session.rollback()


def end_unit_of_work() -> None:
    """Return the session's connection to the pool (the CLI's long-running commands between rounds)."""
    db.session.remove()
