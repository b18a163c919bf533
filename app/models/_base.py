"""Column helpers shared by the models."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index


def utcnow() -> datetime:
    """Timezone-aware now; stored as naive UTC so SQLite and PostgreSQL compare alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuid.uuid4())


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the API and callbacks show times."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def only_on(dialect: str, index: Index) -> Index:
    """An index that exists on one database only (a GIN index on PostgreSQL): created there
    alone, and compared with the migrations there alone (`schema_filter`)."""
    index.info["only_on"] = dialect
    return index.ddl_if(dialect=dialect)


def schema_filter(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for a database of `dialect`: a model object declared
    `only_on` another database is not expected there."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        only = None if reflected else getattr(obj, "info", {}).get("only_on")
        return only is None or only == dialect

    return include
