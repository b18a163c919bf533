"""Where instances are: the element ids in workflow_instances.current_activities, a JSON list, read as
rows by the database's own function, written once here for both databases: `json_each` on SQLite,
`jsonb_array_elements_text` on PostgreSQL (the column is `json` there; the cast makes it `jsonb`, and
stays right if the column becomes JSONB)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

MAX_ELEMENT_ID = 200  # BPMN ids are short names; a longer filter value is a mistake, said as a 422


def elements(column: Any, dialect: str) -> Any:
    """A table of the element ids in `column`, one row each (`.c.value`), for a FROM beside the table
    holding `column`: both databases read a function in FROM that names an earlier table row by row."""
    if dialect == "postgresql":
        listed = func.jsonb_array_elements_text(cast(column, JSONB))
    else:
        listed = func.json_each(column)
    return listed.table_valued("value", joins_implicitly=True)


def holds(column: Any, element_id: str, dialect: str) -> ColumnElement[bool]:
    """Whether the JSON list `column` holds `element_id`."""
    listed = elements(column, dialect)
    return exists(select(1).select_from(listed).where(listed.c.value == element_id))
