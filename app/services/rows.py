"""Finding one row by its key, or NotFound naming it: the lookup every service shares."""

from __future__ import annotations

from typing import Any, TypeVar

from app.core.errors import NotFound
from app.core.extensions import db

Row = TypeVar("Row")


def required(model: type[Row], key: Any, what: str) -> Row:
    """The `model` row with primary key `key`; NotFound("no <what> <key>") when there is none."""
    row = db.session.get(model, key) if key is not None else None
    if row is None:
        raise NotFound(f"no {what} {key}")
    return row
