"""Printing for the CLI: JSON or text, and one-line failures on stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def one_line(exc: Exception) -> str:
    """A service error as one line: its message and, for bad input, the first problem per field."""
    message = getattr(exc, "message", None) or str(exc)
    # A field's problem that is the message itself is not said twice.
    details = [f"{k}: {v[0]}" for k, v in (getattr(exc, "errors", None) or {}).items() if v and v[0] != message]
    if details:
        message = f"{message} ({'; '.join(details)})"
    return " ".join(message.split())


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain text table for people; scripts use --format=json."""
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, "") if r.get(c) is not None else "-")) for r in rows)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(c) if row.get(c) is not None else "-").ljust(widths[c]) for c in columns))
