"""Printing for the CLI: JSON or text, and one-line failures on stderr with a non-zero exit."""
from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Output format.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
