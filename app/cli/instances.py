"""`flask shar instance ...`: list, show, retry and complete instances, deliver messages, repair one in
SHAR (move its token, change its variables: a preview, then a question unless --yes), act on many."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from app.cli.group import shar_cli
from app.cli.inputs import parse_assignments, parse_mapping, parse_variables
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.cli.queued import follow, show_queued, warn_if_not_queued
from app.core.serializers import (
    bulk_operation_dict,
    bulk_preview_dict,
    instance_dict,
    job_dict,
    move_preview_dict,
    variable_edit_dict,
)
from app.lifecycle.states import INSTANCE_STATUSES
from app.services import bulk, exports, instance_listing, outages, repairs
from app.services import instances as instance_service
from app.services.access import allowed_actions, unavailable_actions
from app.services.actors import CLI
from app.services.failed_jobs import retry_instance
from app.services.sync import sync_instance_now
from app.services.version_migrations import MigrationPreview


@shar_cli.group("instance")
def instance_group() -> None:
    """List, show and complete instances, deliver messages to them, and act on many at once."""


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The instance filter's options, passed to the command as InstanceFilter's fields."""
    options = [
        click.option("--workflow"),
        click.option("--version", metavar="N", help="Only instances of this version of --workflow."),
        click.option("--status", type=click.Choice(INSTANCE_STATUSES)),
        click.option(
            "--activity",
            metavar="ELEMENT_ID",
            help="Only instances at this element (running ones wait there, failed ones failed there).",
        ),
        click.option(
            "--var",
            "variables",
            multiple=True,
            metavar="CONDITION",
            help="Only instances whose variable matches: 'orderId=A1', 'amount>=100' (=, !=, <, <=, >, >=; "
            "repeat for AND).",
        ),
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
    listing = instance_listing.list_instances(
        actor=CLI, filters=instance_listing.InstanceFilter(**filters), per_page=limit, with_total=False
    )
    rows = [instance_dict(i) for i in listing.items]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "workflow_name", "status", "launched_at", "completed_at"])


@instance_group.command("export")
@click.argument("instance_id")
def export_instance(instance_id: str) -> None:
    """One instance's whole history as JSON: timeline, jobs with their attempts, variables, audit entries."""
    emit_json(exports.instance_history(instance_id, actor=CLI))


@instance_group.command("export-list")
@filter_options
@click.option("--columns", default="", metavar="NAMES", help="Variables to add as columns: 'orderId,amount'.")
@click.option("--sort", type=click.Choice(list(instance_listing.SORTS)), default=instance_listing.DEFAULT_SORT)
def export_list(columns: str, sort: str, **filters: Any) -> None:
    """Every instance the filter selects, as CSV on stdout (streamed: `> instances.csv`)."""
    for chunk in exports.list_csv(instance_listing.InstanceFilter(**filters), actor=CLI, columns=columns, sort=sort):
        click.echo(chunk, nl=False)


@instance_group.command("bulk")
@click.argument("action", type=click.Choice(list(bulk.ACTIONS)))
@filter_options
@click.option("--yes", is_flag=True, help="Start it without asking.")
@click.option("--wait", is_flag=True, help="Wait until it has finished; exit 1 when any instance failed.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@click.option("--to-version", "version_to", type=click.IntRange(1, None), metavar="N", help="migrate: the target.")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW", help="migrate: an element the target lacks.")
@FORMAT_OPTION
def bulk_action(
    action: str,
    yes: bool,
    wait: bool,
    timeout: float,
    fmt: str,
    version_to: int | None,
    maps: tuple[str, ...],
    **filters: Any,
) -> None:
    """Sync, stop tracking (cancel: SHAR keeps running them), retry or migrate (--workflow W --to-version N)
    the instances a filter selects, as one operation (a job): shows how many it applies to and the
    newest of them, asks, then starts it."""
    instance_filter = instance_listing.InstanceFilter(**filters)
    parameters = {"version": version_to, "mapping": parse_mapping(maps)} if action == "migrate" else None
    preview = bulk.preview_bulk(instance_filter, action, actor=CLI, parameters=parameters)
    if fmt == "text":
        _show_preview(preview)
    if not preview.count:
        emit_json({"preview": bulk_preview_dict(preview), "operation": None}) if fmt == "json" else click.echo(
            "nothing to do"
        )
        return
    if not yes and not click.confirm(f"{preview.label} {preview.count} instances?", err=True):
        fail("not started")
    started = bulk.start_bulk(instance_filter, action, actor=CLI, previewed=preview.fingerprint, parameters=parameters)
    operation = follow(
        started.job,
        started.operation,
        f"bulk operation {started.operation.id}",
        wait=wait,
        timeout=timeout,
        busy=lambda o: o.state == "running",
        again=lambda o: bulk.get_bulk(o.id, actor=CLI, fresh=True),
    )
    if fmt == "json":
        emit_json({"preview": bulk_preview_dict(preview), "operation": bulk_operation_dict(operation)})
    else:
        click.echo(
            f"bulk {preview.label} {operation.id}: {operation.state}; done {operation.done}, failed "
            f"{operation.failed} of {operation.total}"
        )
        for error in operation.errors:
            click.echo(f"  {error.get('instance_id') or '-'}: {error.get('error')}")
    if wait and operation.state == "running":
        fail(f"bulk operation {operation.id} is still running after {timeout:g} s")
    if wait and operation.failed:
        fail(f"{operation.failed} of {operation.total} instances failed")


def _show_preview(preview: bulk.BulkPreview) -> None:
    click.echo(
        f"{preview.count} of the {preview.matched} filtered instances would {preview.verb}"
        + (f"; it skips {preview.skipped}: {preview.skipped_reason}" if preview.skipped else "")
    )
    if preview.shar_note:
        click.echo(f"in SHAR: {preview.shar_note}")
    if preview.sample:
        click.echo(f"the newest {len(preview.sample)}:" if preview.count > len(preview.sample) else "they are:")
        table([instance_dict(i) for i in preview.sample], ["id", "workflow_name", "status", "created_at"])
    if preview.detail is not None:
        show_migration_preview(preview.detail)


def show_migration_preview(preview: MigrationPreview) -> None:
    """What a migration would do, as text: who can move, who cannot and why, the elements to map."""
    click.echo(
        f"to version {preview.target_version} of {preview.workflow}: {preview.movable_count} can move, "
        f"{preview.refused_count} cannot"
    )
    for refusal in preview.refused:
        click.echo(f"  cannot: {refusal.reason}")
    for element in preview.changed:
        mapped = f" -> {element.mapped_to}" if element.mapped_to else " (not mapped: --map OLD=NEW)"
        click.echo(f"  not in version {preview.target_version}: {element.label}, {element.instances} here{mapped}")


@instance_group.command("show")
@click.argument("instance_id")
@click.option("--sync", "refresh", is_flag=True, help="Read it from SHAR first.")
@FORMAT_OPTION
def show(instance_id: str, refresh: bool, fmt: str) -> None:
    """One instance."""
    instance = instance_service.get_instance(instance_id, actor=CLI)
    if refresh and instance.status == "running":
        instance = sync_instance_now(instance_id, actor=CLI)
    show_instance(instance, fmt)


@instance_group.command("retry")
@click.argument("instance_id")
@FORMAT_OPTION
def retry_launch(instance_id: str, fmt: str) -> None:
    """Retry an instance whose launch failed (it adopts what an earlier request made in SHAR)."""
    job = retry_instance(instance_id, actor=CLI)
    show_queued(job, fmt, f"launch of {instance_id} queued again")


@instance_group.command("complete")
@click.argument("instance_id")
@click.option("--variables", help="A JSON object merged into the instance.")
@FORMAT_OPTION
def complete(instance_id: str, variables: str | None, fmt: str) -> None:
    """Queue the completion of the instance's waiting user task."""
    job = instance_service.complete_task(instance_id, actor=CLI, variables=parse_variables(variables))
    show_queued(job, fmt, "completion queued")


@instance_group.command("message")
@click.argument("instance_id")
@click.argument("name")
@click.option("--variables", help="A JSON object: the message's payload, merged into the instance.")
@FORMAT_OPTION
def message(instance_id: str, name: str, variables: str | None, fmt: str) -> None:
    """Queue the delivery of message NAME to an instance waiting at a message event or receive task."""
    job = instance_service.deliver_message(instance_id, name, actor=CLI, variables=parse_variables(variables))
    show_queued(job, fmt, f"message {name} queued for delivery")


@instance_group.command("move")
@click.argument("instance_id")
@click.option(
    "--from",
    "from_",
    multiple=True,
    required=True,
    metavar="ELEMENT_ID",
    help="Where it stands now (repeat for several tokens).",
)
@click.option("--to", required=True, metavar="ELEMENT_ID", help="Where it should stand: an element of its process.")
@click.option("--variables", help="A JSON object set where it is moved to.")
@click.option("--yes", is_flag=True, help="Queue it without asking.")
@FORMAT_OPTION
def move(instance_id: str, from_: tuple[str, ...], to: str, variables: str | None, yes: bool, fmt: str) -> None:
    """Move the instance's token (retry from an element): shows what it leaves, enters and keeps, asks, queues it."""
    values = parse_variables(variables)
    preview = repairs.preview_move(instance_id, list(from_), to, actor=CLI, variables=values)
    if fmt == "text":
        click.echo(f"the move {preview.summary}")
    if not yes and not click.confirm("move it?", err=True):
        fail("not moved")
    preview, job = repairs.move_instance(instance_id, list(from_), to, actor=CLI, variables=values)
    _queued_repair(move_preview_dict(preview), job, fmt, f"move of {instance_id} queued")


@instance_group.command("set-variables")
@click.argument("instance_id")
@click.option("--set", "set_", multiple=True, metavar="NAME=JSON", help="A variable to set (repeatable).")
@click.option("--remove", multiple=True, metavar="NAME", help="A variable to remove (repeatable).")
@click.option("--yes", is_flag=True, help="Queue it without asking.")
@FORMAT_OPTION
def set_variables(instance_id: str, set_: tuple[str, ...], remove: tuple[str, ...], yes: bool, fmt: str) -> None:
    """Change the variables of an instance in SHAR: shows the old -> new diff, asks, queues it."""
    values = parse_assignments(set_)
    edit = repairs.preview_variable_edit(instance_id, values, list(remove), actor=CLI)
    if fmt == "text":
        _show_edit(edit)
    if not yes and not click.confirm("change them?", err=True):
        fail("not changed")
    edit, job = repairs.edit_variables(instance_id, values, list(remove), actor=CLI)
    _queued_repair(variable_edit_dict(edit), job, fmt, f"variable change of {instance_id} queued")


def _show_edit(edit: repairs.VariableEdit) -> None:
    for name, new in edit.added.items():
        click.echo(f"  + {name}: {json.dumps(new)}")
    for name, (old, new) in edit.changed.items():
        click.echo(f"  ~ {name}: {json.dumps(old)} -> {json.dumps(new)}")
    for name, old in edit.removed.items():
        click.echo(f"  - {name}: {json.dumps(old)}")
    click.echo(f"  {edit.unchanged} unchanged")


def _queued_repair(preview: dict[str, Any], job: Any, fmt: str, text: str) -> None:
    if fmt == "json":
        emit_json({"preview": preview, "job": job_dict(job)})
        warn_if_not_queued(job)
    else:
        show_queued(job, fmt, text)


def show_instance(instance: Any, fmt: str) -> None:
    # What the pages and the API show too: whether it waits for SHAR, and what may be done with it.
    data = {
        **instance_dict(instance, waiting_for_shar=outages.is_waiting("instance", instance.id)),
        "allowed_actions": sorted(allowed_actions(CLI, instance)),
        "unavailable_actions": unavailable_actions(CLI, instance),
    }
    if fmt == "json":
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>18}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
