"""The `shar` command group; each module of app.cli adds one family of commands to it."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup


class SharGroup(AppGroup):
    """The `shar` group: an error a command did not handle becomes one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from redis.exceptions import RedisError
        from sqlalchemy.exc import OperationalError

        from app.cli.output import fail, one_line
        from app.core.errors import SharboardError

        try:
            return super().invoke(ctx)
        except SharboardError as exc:
            fail(one_line(exc))
        except OperationalError as exc:
            fail(f"the database is unavailable: {str(exc.orig or exc).splitlines()[0]}")
        except RedisError as exc:
            fail(f"the queue (Redis) is unavailable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


shar_cli = SharGroup("shar", help="Operate sharboard: the stack, queues, SHAR, workflows and users.")
