"""`flask shar plugins`: the plug-ins this app loaded, their listeners, and those that failed to load."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail
from app.services.actors import CLI
from app.services.plugins import loaded_plugins


@shar_cli.command("plugins")
@FORMAT_OPTION
def plugins(fmt: str) -> None:
    """List plug-ins (entry points `sharboard.listeners`, SHARBOARD_PLUGINS); exits 1 if one failed to load."""
    found = loaded_plugins(actor=CLI)
    if fmt == "json":
        emit_json(
            [
                {
                    "name": p.name,
                    "source": p.source,
                    "target": p.target,
                    "loaded": p.loaded,
                    "error": p.error,
                    "listeners": [{"event": s.event, "listener": s.listener} for s in p.subscriptions],
                }
                for p in found
            ]
        )
    else:
        if not found:
            click.echo("no plug-ins (see docs/integrating.md)")
        for p in found:
            click.echo(f"{p.name} ({p.source}, {p.target}): " + ("loaded" if p.loaded else f"NOT LOADED: {p.error}"))
            for s in p.subscriptions:
                click.echo(f"  {s.event} -> {s.listener}")
    failed = [p.name for p in found if not p.loaded]
    if failed:
        fail(f"not loaded: {', '.join(failed)}")
