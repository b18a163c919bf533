"""`flask shar health|sync|cleanup|statistics` and `batch ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from app.cli.group import shar_cli
from app.cli.inputs import read_bpmn, read_file
from app.cli.output import FORMAT_OPTION, emit_json, fail
from app.core.errors import SharboardError
from app.lifecycle.states import INSTANCE_STATUSES
from app.services.actors import CLI
from app.services.cleanup import cleanup_instances
from app.services.health.shar import shar_health_now
from app.services.instances import complete_task
from app.services.launches import launch_instance
from app.services.statistics import statistics as instance_statistics
from app.services.sync import queue_syncs
from app.services.transactions import discard_changes
from app.services.workflows import create_workflow


@shar_cli.command("health")
@FORMAT_OPTION
def health(fmt: str) -> None:
    """SHAR's health; exits 1 when SHAR is unhealthy or unreachable."""
    result = shar_health_now(actor=CLI)
    if fmt == "json":
        emit_json(result)
    else:
        click.echo(
            f"SHAR at {result['url']}: {result['status']}"
            + (f" ({result['version']})" if result["version"] else "")
            + (f" {result['detail']}" if result["detail"] else "")
        )
        if result["outage"]:
            click.echo(
                f"outage: SHAR unreachable since {result['outage']['since']} UTC; "
                f"{result['outage']['held']} operations held until it answers"
            )
    if not result["healthy"]:
        fail(f"SHAR is {result['status']}" + (f": {result['detail']}" if result["detail"] else ""))


@shar_cli.command("sync")
@click.option(
    "--status",
    type=click.Choice(INSTANCE_STATUSES),
    default="running",
    show_default=True,
    help="Sync instances in this status.",
)
@click.option("--force", is_flag=True, help="Sync even those synced in the last interval.")
@FORMAT_OPTION
def sync(status: str, force: bool, fmt: str) -> None:
    """Queue a sync of instances (running ones by default)."""
    batch = queue_syncs(actor=CLI, status=status, force=force)
    if fmt == "json":
        emit_json({"status": status, "candidates": batch.candidates, "queued": batch.queued})
    else:
        click.echo(f"queued {batch.queued} syncs of {batch.candidates} {status} instances")


@shar_cli.command("cleanup")
@click.option("--days", type=click.IntRange(0, None), default=30, show_default=True)
@click.option(
    "--status",
    "statuses",
    type=click.Choice(INSTANCE_STATUSES),
    multiple=True,
    default=("completed",),
    show_default=True,
)
@click.option("--force", is_flag=True, help="Do not ask.")
@FORMAT_OPTION
def cleanup(days: int, statuses: tuple[str, ...], force: bool, fmt: str) -> None:
    """Delete instances that ended more than --days ago in --status."""
    count = cleanup_instances(actor=CLI, days=days, statuses=statuses, dry_run=True)
    if (
        count
        and not force
        and not click.confirm(f"Delete {count} instances ({', '.join(statuses)}, older than {days} days)?", err=True)
    ):
        fail("nothing deleted")
    deleted = cleanup_instances(actor=CLI, days=days, statuses=statuses) if count else 0
    if fmt == "json":
        emit_json({"deleted": deleted, "days": days, "statuses": list(statuses)})
    else:
        click.echo(f"deleted {deleted} instances")


@shar_cli.command("statistics")
@click.option("--workflow", "workflow_name")
@FORMAT_OPTION
def statistics(workflow_name: str | None, fmt: str) -> None:
    """Totals, average duration and success rate."""
    data = instance_statistics(actor=CLI, workflow_name=workflow_name)
    if fmt == "json":
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>26}: {value if value is not None else '-'}")


@shar_cli.group("batch")
def batch_group() -> None:
    """Many operations from a JSON file."""


BATCH_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
DRY_RUN = click.option("--dry-run", is_flag=True)


def _items(file: Path | None, inline: tuple[str, ...], key: str) -> list[Any]:
    """The batch's items: the JSON array in `file`, or one {key: value} per repeated option."""
    if file is None and not inline:
        fail(f"give a JSON file or --{key}")
    if file is not None:
        try:
            data = json.loads(read_file(file).decode("utf-8"))
        except ValueError as exc:
            fail(f"cannot read {file}: {exc}")
        if not isinstance(data, list):
            fail(f"{file} must hold a JSON array")
        return data
    return [{key: value} for value in inline]


def _run_batch(items: list[Any], action: Any, dry_run: bool, fmt: str) -> None:
    results = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append({"index": index, "ok": False, "error": "each item must be a JSON object"})
            continue
        try:
            outcome = "would run" if dry_run else action(item)
            results.append({"index": index, "ok": True, "result": outcome})
        except (SharboardError, OSError, KeyError) as exc:
            discard_changes()
            results.append({"index": index, "ok": False, "error": getattr(exc, "message", str(exc))})
    if fmt == "json":
        emit_json(results)
    else:
        for r in results:
            click.echo(f"#{r['index']}: " + (str(r["result"]) if r["ok"] else f"FAILED {r['error']}"))
    failed = [r for r in results if not r["ok"]]
    if failed:
        fail(f"{len(failed)} of {len(results)} items failed (first: #{failed[0]['index']}: {failed[0]['error']})")


@batch_group.command("import")
@BATCH_FILE
@click.option(
    "--bpmn",
    "bpmn_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Create a workflow from this BPMN file, named after it (repeatable) instead of a JSON file.",
)
@DRY_RUN
@FORMAT_OPTION
def batch_import(file: Path | None, bpmn_files: tuple[Path, ...], dry_run: bool, fmt: str) -> None:
    """Create workflows from [{"name", "file" or "bpmn_xml", "description"?}, ...] or --bpmn options."""
    base = file.parent if file is not None else Path.cwd()

    def create(item: dict[str, Any]) -> str:
        xml = item.get("bpmn_xml") or read_bpmn(base / item["file"])
        workflow = create_workflow(item["name"], xml, actor=CLI, description=item.get("description", "")).workflow
        return f"{workflow.name} v{workflow.version} {workflow.status}"

    if file is None and not bpmn_files:
        fail("give a JSON file or --bpmn")
    items = _items(file, tuple(str(path) for path in bpmn_files), "file")
    if file is None:
        items = [{**item, "name": Path(item["file"]).stem} for item in items]
    _run_batch(items, create, dry_run, fmt)


@batch_group.command("launch")
@BATCH_FILE
@click.option("--workflow", "workflows", multiple=True, help="Launch this workflow (repeatable) instead of a file.")
@DRY_RUN
@FORMAT_OPTION
def batch_launch(file: Path | None, workflows: tuple[str, ...], dry_run: bool, fmt: str) -> None:
    """Launch instances from [{"workflow", "variables"?}, ...] or --workflow options."""

    def launch(item: dict[str, Any]) -> str:
        instance = launch_instance(item["workflow"], item.get("variables") or {}, actor=CLI).instance
        return f"{instance.id} {instance.status}"

    _run_batch(_items(file, workflows, "workflow"), launch, dry_run, fmt)


@batch_group.command("complete")
@BATCH_FILE
@click.option("--instance", "instances", multiple=True, help="Complete this instance's task (repeatable).")
@DRY_RUN
@FORMAT_OPTION
def batch_complete(file: Path | None, instances: tuple[str, ...], dry_run: bool, fmt: str) -> None:
    """Complete waiting tasks from [{"instance", "variables"?}, ...] or --instance options."""

    def complete(item: dict[str, Any]) -> str:
        return f"job {complete_task(item['instance'], actor=CLI, variables=item.get('variables')).id} queued"

    _run_batch(_items(file, instances, "instance"), complete, dry_run, fmt)
