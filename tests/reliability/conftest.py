"""`database`: run a test on SQLite and again on a PostgreSQL database made for it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.databases import on_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, overrides: dict[str, Any]) -> Iterator[str]:
    """Request it before `app`/`make_app`/`processes`: it points their `overrides` at the database."""
    yield from on_database(request.param, overrides, pytest.skip)
