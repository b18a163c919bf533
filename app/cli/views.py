"""`flask shar view ...`: the saved views (the command line sees every one) and what each opens."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, table
from app.services import saved_views
from app.services.actors import CLI


@shar_cli.group("view")
def view_group() -> None:
    """List and show saved views (saving, renaming and publishing are done by people, on the page or the API)."""


@view_group.command("list")
@FORMAT_OPTION
def list_views(fmt: str) -> None:
    """Every saved view, by name."""
    views, _ = saved_views.views_for(actor=CLI)
    rows = [saved_views.view_dict(v) for v in views]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "name", "owner", "published", "sort"])


@view_group.command("show")
@click.argument("view_id", type=click.IntRange(1, 2**31 - 1))
@FORMAT_OPTION
def show_view(view_id: int, fmt: str) -> None:
    """One view: its filter, columns and order, its list's query string, and what no longer works."""
    opened = saved_views.open_view(view_id, actor=CLI)
    data = saved_views.view_dict(opened.view, opened)
    if fmt == "json":
        emit_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>10}: {value if value is not None else '-'}")
