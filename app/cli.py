"""`flask shar ...`: the command line."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

shar_cli = AppGroup("shar", help="Operate sharboard: queues, SHAR, workflows and users.")


def init_app(app: Flask) -> None:
    app.cli.add_command(shar_cli)
