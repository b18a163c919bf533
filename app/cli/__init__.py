"""`flask shar ...`: the command line. Each module adds one family of commands."""
from __future__ import annotations

from flask import Flask

from app.cli import operations, queue, stack, untracked, users, workflows  # noqa: F401  (registers their commands)
from app.cli.group import shar_cli


def init_app(app: Flask) -> None:
    if "shar" not in app.cli.commands:
        app.cli.add_command(shar_cli)
