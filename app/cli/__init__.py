"""`flask shar ...`: the command line. Each module adds one family of commands."""

from __future__ import annotations

from flask import Flask

from app.cli import (  # noqa: F401  (registers their commands)
    failed,
    gateway,
    instances,
    migrations,
    operations,
    plugins,
    queue,
    stack,
    untracked,
    users,
    views,
    workflows,
)
from app.cli.group import shar_cli


def init_app(app: Flask) -> None:
    if "shar" not in app.cli.commands:
        app.cli.add_command(shar_cli)
