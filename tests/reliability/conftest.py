"""`database`: run a test on SQLite and again on a PostgreSQL database made for it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.databases import pg_available, postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, overrides: dict[str, Any]) -> Iterator[str]:
    """Request it before `app`/`make_app`/`processes`: it points their `overrides` at the database."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    if not pg_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    with postgres_database() as url:
        overrides["database_url"] = url
        yield "postgresql"
