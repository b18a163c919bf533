"""`flask shar workflow ...` and `flask shar instance ...`."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from app import json_input
from app.bpmn import BpmnValidationError, decode_xml
from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.errors import InvalidInput
from app.serializers import bulk_operation_dict, bulk_preview_dict, instance_dict, job_dict, workflow_dict
from app.services import bulk
from app.services import instance_listing
from app.services import instances as instance_service
from app.services.failed_jobs import retry_instance, retry_workflow
from app.services import version_diffs
from app.services import workflows as workflow_service
from app.services.actors import CLI
from app.services.sync import sync_instance_now
from app.states import INSTANCE_STATUSES

Row = TypeVar("Row")


def parse_variables(raw: str | None) -> dict:
    if not raw:
        return {}
    try:  # strict JSON within the size and depth limits (app.json_input)
        return json_input.loads_object(raw, what="--variables", field="variables")
    except InvalidInput as exc:
        fail(exc.message)


@shar_cli.group("workflow")
def workflow_group() -> None:
    """Create, list, launch, delete, hand over, export and diff workflows."""


@workflow_group.command("create")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default="")
@click.option("--sync", "blocking", is_flag=True, help="Wait for SHAR instead of queueing (default: SHAR_ASYNC_ENABLED).")
@FORMAT_OPTION
def create(name: str, file: Path, description: str, blocking: bool, fmt: str) -> None:
    """Create workflow NAME from a BPMN FILE (queued unless --sync)."""
    result = workflow_service.create_workflow(name, _read_bpmn(file), actor=CLI, description=description,
                                              async_=False if blocking else None)
    workflow = result.workflow
    if fmt == "json":
        emit_json({"id": workflow.id, "name": workflow.name, "status": workflow.status, "version": workflow.version})
    else:
        click.echo(f"{workflow.name} v{workflow.version}: {workflow.status}" + ("" if result.created else " (unchanged)"))
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
def launch(name: str, variables: str | None, process_id: str | None, message: str | None, wait: bool,
           timeout: float, fmt: str) -> None:
    """Launch an instance of NAME."""
    launched = instance_service.launch_instance(name, parse_variables(variables), actor=CLI, process_id=process_id,
                                                message=message)
    instance = follow(launched.job, launched.instance, f"instance {launched.instance.id}", wait=wait, timeout=timeout,
                      busy=lambda i: i.status == "launching",
                      again=lambda i: instance_service.get_instance(i.id, actor=CLI, fresh=True))
    _show_instance(instance, fmt)
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
    emit_json(job_dict(job)) if fmt == "json" else click.echo(f"create of {name} queued again (job {job.id})")
    warn_if_not_queued(job)


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
        comparison = version_diffs.preview_upload(name, _read_bpmn(file), actor=CLI)
    elif from_version is None or to_version is None:
        fail("give --from and --to, or a FILE to compare with the deployed version")
    else:
        comparison = version_diffs.compare_versions(name, from_version, to_version, actor=CLI)
    if fmt == "json":
        emit_json(comparison.to_dict())
    else:
        _show_comparison(comparison)


@shar_cli.group("instance")
def instance_group() -> None:
    """List, show and complete instances, deliver messages to them, and act on many at once."""


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The instance filter's options, passed to the command as InstanceFilter's fields."""
    options = [
        click.option("--workflow"),
        click.option("--version", metavar="N", help="Only instances of this version of --workflow."),
        click.option("--status", type=click.Choice(INSTANCE_STATUSES)),
        click.option("--activity", metavar="ELEMENT_ID",
                     help="Only instances at this element (running ones wait there, failed ones failed there)."),
        click.option("--var", "variables", multiple=True, metavar="CONDITION",
                     help="Only instances whose variable matches: 'orderId=A1', 'amount>=100' (=, !=, <, <=, >, >=; "
                          "repeat for AND)."),
        click.option("--older-than", metavar="AGE", help="Only instances started longer ago than AGE: 30m, 2h, 3d."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@instance_group.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@FORMAT_OPTION
def list_instances(limit: int, fmt: str, **filters: Any) -> None:
    """Newest instances first."""
    listing = instance_listing.list_instances(actor=CLI, filters=instance_listing.InstanceFilter(**filters),
                                              per_page=limit, with_total=False)
    rows = [instance_dict(i) for i in listing.items]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "workflow_name", "status", "launched_at", "completed_at"])


@instance_group.command("bulk")
@click.argument("action", type=click.Choice(list(bulk.ACTIONS)))
@filter_options
@click.option("--yes", is_flag=True, help="Start it without asking.")
@click.option("--wait", is_flag=True, help="Wait until it has finished; exit 1 when any instance failed.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@FORMAT_OPTION
def bulk_action(action: str, yes: bool, wait: bool, timeout: float, fmt: str, **filters: Any) -> None:
    """Sync, cancel or retry the instances a filter selects, as one operation (a job): shows how many
    it applies to and the newest of them, asks, then starts it."""
    instance_filter = instance_listing.InstanceFilter(**filters)
    preview = bulk.preview_bulk(instance_filter, action, actor=CLI)
    if fmt == "text":
        _show_preview(preview)
    if not preview.count:
        emit_json({"preview": bulk_preview_dict(preview), "operation": None}) if fmt == "json" \
            else click.echo("nothing to do")
        return
    if not yes and not click.confirm(f"{action} {preview.count} instances?", err=True):
        fail("not started")
    started = bulk.start_bulk(instance_filter, action, actor=CLI, previewed=preview.fingerprint)
    operation = follow(started.job, started.operation, f"bulk operation {started.operation.id}", wait=wait,
                       timeout=timeout, busy=lambda o: o.state == "running",
                       again=lambda o: bulk.get_bulk(o.id, actor=CLI, fresh=True))
    if fmt == "json":
        emit_json({"preview": bulk_preview_dict(preview), "operation": bulk_operation_dict(operation)})
    else:
        click.echo(f"bulk {action} {operation.id}: {operation.state}; done {operation.done}, failed "
                   f"{operation.failed} of {operation.total}")
        for error in operation.errors:
            click.echo(f"  {error.get('instance_id') or '-'}: {error.get('error')}")
    if wait and operation.state == "running":
        fail(f"bulk operation {operation.id} is still running after {timeout:g} s")
    if wait and operation.failed:
        fail(f"{operation.failed} of {operation.total} instances failed")


def _show_preview(preview: bulk.BulkPreview) -> None:
    click.echo(f"{preview.action} would apply to {preview.count} of the {preview.matched} filtered instances"
               + (f"; it skips {preview.skipped}: {preview.skipped_reason}" if preview.skipped else ""))
    if preview.sample:
        click.echo(f"the newest {len(preview.sample)}:" if preview.count > len(preview.sample) else "they are:")
        table([instance_dict(i) for i in preview.sample], ["id", "workflow_name", "status", "created_at"])


@instance_group.command("show")
@click.argument("instance_id")
@click.option("--sync", "refresh", is_flag=True, help="Read it from SHAR first.")
@FORMAT_OPTION
def show(instance_id: str, refresh: bool, fmt: str) -> None:
    """One instance."""
    instance = instance_service.get_instance(instance_id, actor=CLI)
    if refresh and instance.status == "running":
        instance = sync_instance_now(instance_id, actor=CLI)
    _show_instance(instance, fmt)


@instance_group.command("retry")
@click.argument("instance_id")
@FORMAT_OPTION
def retry_launch(instance_id: str, fmt: str) -> None:
    """Retry an instance whose launch failed (it adopts what an earlier request made in SHAR)."""
    job = retry_instance(instance_id, actor=CLI)
    emit_json(job_dict(job)) if fmt == "json" else click.echo(f"launch of {instance_id} queued again (job {job.id})")
    warn_if_not_queued(job)


@instance_group.command("complete")
@click.argument("instance_id")
@click.option("--variables", help="A JSON object merged into the instance.")
@FORMAT_OPTION
def complete(instance_id: str, variables: str | None, fmt: str) -> None:
    """Queue the completion of the instance's waiting user task."""
    job = instance_service.complete_task(instance_id, actor=CLI, variables=parse_variables(variables))
    if fmt == "json":
        emit_json(job_dict(job))
    else:
        click.echo(f"completion queued (job {job.id})")
    warn_if_not_queued(job)


@instance_group.command("message")
@click.argument("instance_id")
@click.argument("name")
@click.option("--variables", help="A JSON object: the message's payload, merged into the instance.")
@FORMAT_OPTION
def message(instance_id: str, name: str, variables: str | None, fmt: str) -> None:
    """Queue the delivery of message NAME to an instance waiting at a message event or receive task."""
    job = instance_service.deliver_message(instance_id, name, actor=CLI, variables=parse_variables(variables))
    if fmt == "json":
        emit_json(job_dict(job))
    else:
        click.echo(f"message {name} queued for delivery (job {job.id})")
    warn_if_not_queued(job)


def _read_bpmn(file: Path) -> str:
    """The file as text, read in the encoding it names (its byte order mark or XML declaration, else UTF-8)."""
    try:
        return decode_xml(file.read_bytes())
    except BpmnValidationError as exc:
        fail(f"{file}: {exc.message}")


def _show_comparison(comparison: version_diffs.Comparison) -> None:
    if comparison.to_version is not None:
        click.echo(f"{comparison.name}: v{comparison.from_version} -> v{comparison.to_version}")
    elif comparison.from_version is not None:
        click.echo(f"{comparison.name}: v{comparison.from_version} (deployed) -> the file "
                   f"(would be v{comparison.next_version})")
    else:
        click.echo(f"{comparison.name}: a new workflow, nothing to compare with" if comparison.new_workflow
                   else f"{comparison.name}: no version is active, nothing deployed to compare with")
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
    click.echo(f"added {len(d.added)}{more['added']}, removed {len(d.removed)}{more['removed']}, "
               f"changed {len(d.changed)}{more['changed']}, unchanged {d.unchanged}")
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


def follow(job: object, row: Row, what: str, *, wait: bool, timeout: float, busy: Callable[[Row], bool],
           again: Callable[[Row], Row]) -> Row:
    """After an operation that queued `job`: say when the job is stored but not queued (and then do
    not wait); with `wait`, read `row` `again` until it is no longer `busy` or `timeout` has passed."""
    if warn_if_not_queued(job) and wait:
        fail(f"{what} is stored but the queue is unavailable; not waiting")
    deadline = time.monotonic() + timeout
    while wait and busy(row) and time.monotonic() < deadline:
        time.sleep(0.5)
        row = again(row)
    return row


def warn_if_not_queued(job: object) -> bool:
    """Say on stderr when the operation's job is stored but the queue refused it."""
    error = getattr(job, "enqueue_error", None)
    if not error:
        return False
    click.echo(f"warning: job {getattr(job, 'id', '?')} is stored but not queued ({error}); "
               "it is queued when the queue is back", err=True)
    return True


def _show_instance(instance: object, fmt: str) -> None:
    data = instance_dict(instance)  # type: ignore[arg-type]
    if fmt == "json":
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>18}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
