"""What the database was asked while a block ran: its commits and its statements, for the tests that
count a job's transactions and reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def recorded(engine: Any) -> Iterator[tuple[list[str], list[str]]]:
    """The commits and the statements (stripped) sent through `engine` while the block runs."""
    commits: list[str] = []
    statements: list[str] = []

    def on_commit(conn: Any) -> None:
        commits.append("commit")

    def on_statement(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.strip())

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield commits, statements
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "before_cursor_execute", on_statement)
