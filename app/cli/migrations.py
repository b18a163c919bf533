"""`flask shar instance migrate ID --to-version N [--map OLD=NEW ...]`: move a running instance to
another version of its workflow, after its preview (services/version_migrations). The bulk form is
`flask shar instance bulk migrate --workflow W --to-version N [--map OLD=NEW ...]` (app/cli/instances)."""

from __future__ import annotations

import click

from app.cli.inputs import parse_mapping
from app.cli.instances import instance_group, show_migration_preview
from app.cli.output import FORMAT_OPTION, emit_json, fail
from app.cli.queued import show_queued
from app.core.serializers import job_dict
from app.services import version_migrations
from app.services.actors import CLI

TO_VERSION = click.option("--to-version", "version", type=click.IntRange(1, None), metavar="N")
MAP = click.option("--map", "maps", multiple=True, metavar="OLD=NEW", help="Map an element the target lacks.")


@instance_group.command("migrate")
@click.argument("instance_id")
@TO_VERSION
@MAP
@click.option("--yes", is_flag=True, help="Start it without asking.")
@FORMAT_OPTION
def migrate(instance_id: str, version: int | None, maps: tuple[str, ...], yes: bool, fmt: str) -> None:
    """Move a running instance to version N of its workflow: shows whether it can move (and the
    elements its version has that N lacks, to --map), asks, then queues the move (a job)."""
    if version is None:
        fail("give the target version: --to-version N")
    mapping = parse_mapping(maps)
    preview = version_migrations.preview_migration([instance_id], version, mapping, actor=CLI)
    if fmt == "text":
        show_migration_preview(preview)
    if preview.refused:
        emit_json({"preview": preview.to_dict(), "job": None}) if fmt == "json" else None
        fail(preview.refused[0].reason)
    if not yes and not click.confirm(f"move instance {instance_id} to version {preview.target_version}?", err=True):
        fail("not started")
    queued = version_migrations.migrate_instance(instance_id, version, mapping, actor=CLI)
    if fmt == "json":
        emit_json({"preview": preview.to_dict(), "job": job_dict(queued.job)})
    else:
        show_queued(queued.job, "text", f"move of {instance_id} to version {queued.target_version} queued")
