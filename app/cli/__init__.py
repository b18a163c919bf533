"""`flask shar ...`: the command line. Each module adds one family of commands."""
from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

shar_cli = AppGroup("shar", help="Operate sharboard: the stack, queues, SHAR, workflows and users.")


def init_app(app: Flask) -> None:
    from app.cli import operations, queue, stack, users, workflows  # noqa: F401  (registers their commands)

    if "shar" not in app.cli.commands:
        app.cli.add_command(shar_cli)
