"""`flask shar workflow ...`: create, list, launch, delete, retry, hand over, export and diff workflows."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli.group import shar_cli
from app.cli.inputs import parse_variables, read_bpmn
from app.cli.instances import show_instance
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.cli.queued import follow, show_queued, warn_if_not_queued
from app.core.serializers import workflow_dict
from app.services import instances as instance_service
from app.services import launches as launch_service
from app.services import version_diffs
from app.services import workflows as workflow_service
from app.services.actors import CLI
from app.services.failed_jobs import retry_workflow


@shar_cli.group("workflow")
def workflow_group() -> None:
    """Create, list, launch, delete, hand over, export and diff workflows."""


@workflow_group.command("create")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default="")
@click.option(
    "--sync", "blocking", is_flag=True, help="Wait for SHAR instead of queueing (default: SHAR_ASYNC_ENABLED)."
)
@FORMAT_OPTION
def create(name: str, file: Path, description: str, blocking: bool, fmt: str) -> None:
    """Create workflow NAME from a BPMN FILE (queued unless --sync)."""
    result = workflow_service.create_workflow(
        name, read_bpmn(file), actor=CLI, description=description, async_=False if blocking else None
    )
    workflow = result.workflow
    if fmt == "json":
        emit_json({"id": workflow.id, "name": workflow.name, "status": workflow.status, "version": workflow.version})
    else:
        click.echo(
            f"{workflow.name} v{workflow.version}: {workflow.status}" + ("" if result.created else " (unchanged)")
        )
    if workflow.status == "failed":
        fail(f"creation failed: {workflow.error}")
    warn_if_not_queued(result.job)


@workflow_group.command("list")
@FORMAT_OPTION
def list_workflows(fmt: str) -> None:
    """The latest version of each workflow."""
    rows = [workflow_dict(w) for w in workflow_service.list_workflows(actor=CLI, with_total=False).items]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "name", "version", "status", "updated_at"])


@workflow_group.command("launch")
@click.argument("name")
@click.option("--variables", help="A JSON object.")
@click.option("--process", "process_id", help="The process to start (default: the file's only executable one).")
@click.option("--message", help="Start it by this message, at the process's message start event.")
@click.option("--wait", is_flag=True, help="Wait until the instance has left `launching`.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@FORMAT_OPTION
def launch(
    name: str, variables: str | None, process_id: str | None, message: str | None, wait: bool, timeout: float, fmt: str
) -> None:
    """Launch an instance of NAME."""
    launched = launch_service.launch_instance(
        name, parse_variables(variables), actor=CLI, process_id=process_id, message=message
    )
    instance = follow(
        launched.job,
        launched.instance,
        f"instance {launched.instance.id}",
        wait=wait,
        timeout=timeout,
        busy=lambda i: i.status == "launching",
        again=lambda i: instance_service.get_instance(i.id, actor=CLI, fresh=True),
    )
    show_instance(instance, fmt)
    if wait and instance.status in ("launching", "failed"):
        fail(f"instance {instance.id} is {instance.status}" + (f": {instance.error}" if instance.error else ""))


@workflow_group.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Do not ask.")
@FORMAT_OPTION
def delete(name: str, force: bool, fmt: str) -> None:
    """Make NAME inactive and remove it from SHAR."""
    workflow_service.get_workflow(name, actor=CLI)
    if not force and not click.confirm(f"Delete workflow {name}?", err=True):
        fail("not deleted")
    result = workflow_service.delete_workflow(name, actor=CLI)
    if fmt == "json":
        emit_json(workflow_dict(result.workflow))
    else:
        click.echo(f"{name} is inactive; removal from SHAR is queued")
    warn_if_not_queued(result.job)


@workflow_group.command("retry")
@click.argument("name")
@FORMAT_OPTION
def retry_create(name: str, fmt: str) -> None:
    """Retry the failed create of NAME's newest version (it adopts what SHAR already holds)."""
    job = retry_workflow(name, actor=CLI)
    show_queued(job, fmt, f"create of {name} queued again")


@workflow_group.command("transfer")
@click.argument("name")
@click.argument("owner_email")
@FORMAT_OPTION
def transfer(name: str, owner_email: str, fmt: str) -> None:
    """Hand workflow NAME to the user OWNER_EMAIL."""
    row = workflow_service.transfer_workflow(name, owner_email, actor=CLI)
    owner = row.owner.email if row.owner else None
    emit_json({"name": name, "owner": owner}) if fmt == "json" else click.echo(f"{name} now belongs to {owner}")


@workflow_group.command("export")
@click.argument("name")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@click.option("--format", "fmt", type=click.Choice(["bpmn", "json"]), default="bpmn", show_default=True)
def export(name: str, output: Path | None, fmt: str) -> None:
    """Write NAME's latest BPMN (or its JSON with the BPMN inside)."""
    workflow = workflow_service.get_workflow(name, actor=CLI)
    text = workflow.bpmn_xml if fmt == "bpmn" else json.dumps(workflow_dict(workflow, with_bpmn=True), indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@workflow_group.command("diff")
@click.argument("name")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "from_version", type=int, help="The older version.")
@click.option("--to", "to_version", type=int, help="The newer version.")
@FORMAT_OPTION
def diff(name: str, file: Path | None, from_version: int | None, to_version: int | None, fmt: str) -> None:
    """What changed between versions --from and --to of NAME, or what FILE would change against its
    deployed version (nothing is stored); and the instances still running."""
    if file is not None:
        if from_version is not None or to_version is not None:
            fail("give either FILE or --from and --to")
        comparison = version_diffs.preview_upload(name, read_bpmn(file), actor=CLI)
    elif from_version is None or to_version is None:
        fail("give --from and --to, or a FILE to compare with the deployed version")
    else:
        comparison = version_diffs.compare_versions(name, from_version, to_version, actor=CLI)
    if fmt == "json":
        emit_json(comparison.to_dict())
    else:
        _show_comparison(comparison)


def _show_comparison(comparison: version_diffs.Comparison) -> None:
    if comparison.to_version is not None:
        click.echo(f"{comparison.name}: v{comparison.from_version} -> v{comparison.to_version}")
    elif comparison.from_version is not None:
        click.echo(
            f"{comparison.name}: v{comparison.from_version} (deployed) -> the file "
            f"(would be v{comparison.next_version})"
        )
    else:
        click.echo(
            f"{comparison.name}: a new workflow, nothing to compare with"
            if comparison.new_workflow
            else f"{comparison.name}: no version is active, nothing deployed to compare with"
        )
    for version, count in sorted(comparison.running.items()):
        click.echo(f"{count} {'instance still runs' if count == 1 else 'instances still run'} version {version}")
    if not comparison.counts_all:
        click.echo("(counting your own instances only)")
    for warning in comparison.warnings:
        click.echo(f"warning: {warning.get('message')}")
    d = comparison.diff
    if d is None:
        return
    if d.identical:
        click.echo(f"no difference ({d.unchanged} elements)")
        return
    more = {name: f" (+{n} more)" if n else "" for name, n in d.more.items()}
    click.echo(
        f"added {len(d.added)}{more['added']}, removed {len(d.removed)}{more['removed']}, "
        f"changed {len(d.changed)}{more['changed']}, unchanged {d.unchanged}"
    )
    for title, processes in (("process added", d.processes_added), ("process removed", d.processes_removed)):
        for process in processes:
            click.echo(f"{title}: {process.id}" + (f" ({process.name})" if process.name else ""))
    for process in d.processes_changed:
        click.echo(f"process changed: {process.id}: " + _changes(process.changes))
    for entry in d.conditions + d.timers:
        click.echo(f"{entry.field} of {entry.element.id}: {_value(entry.old)} -> {_value(entry.new)}")
    for sign, elements in (("+", d.added), ("-", d.removed)):
        for element in elements:
            click.echo(f"{sign} {element.tag} {element.id}" + (f" {element.name!r}" if element.name else ""))
    for change in d.changed:
        click.echo(f"~ {change.element.tag} {change.element.id}: {_changes(change.changes)}")


def _changes(changes: tuple) -> str:  # type: ignore[type-arg]
    return "; ".join(f"{c.field} {_value(c.old)} -> {_value(c.new)}" for c in changes)


def _value(value: str | None) -> str:
    return "none" if value is None else repr(value)
