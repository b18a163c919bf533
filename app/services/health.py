"""SHAR's health as last seen by the scheduler: web pages read this, never SHAR itself."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from app.extensions import db
from app.models import PeriodicRun
from app.config import current_settings
from app.shar import client_for

CHECK_NAME = "shar_health"


def check_shar_health() -> dict[str, Any]:
    """Ask SHAR (from the scheduler) and store the answer for the pages."""
    settings = current_settings()
    # A short timeout: the scheduler's other duties must not wait on a hanging SHAR.
    health = client_for(settings.shar_url(), min(settings.shar_timeout, 5.0)).health()
    result = asdict(health)
    row = db.session.get(PeriodicRun, CHECK_NAME) or PeriodicRun(name=CHECK_NAME)
    row.last_result = json.dumps(result)
    from app.models._base import utcnow

    row.last_finished_at = utcnow()
    db.session.add(row)
    db.session.commit()
    return result


def last_shar_health() -> tuple[dict[str, Any] | None, datetime | None]:
    """The stored health and when it was checked; (None, None) before the first check."""
    row = db.session.get(PeriodicRun, CHECK_NAME)
    if row is None or not row.last_result:
        return None, None
    return json.loads(row.last_result), row.last_finished_at
