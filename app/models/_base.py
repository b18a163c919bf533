"""Column helpers shared by the models."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware now; stored as naive UTC so SQLite and PostgreSQL compare alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuid.uuid4())


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the API and callbacks show times."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
