"""`flask shar untracked ...`: SHAR instances the dashboard does not track (scan, list, adopt, ignore)."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, table
from app.models._base import iso
from app.services import untracked as service
from app.services.actors import CLI


@shar_cli.group("untracked")
def untracked_group() -> None:
    """SHAR instances no dashboard instance tracks."""


@untracked_group.command("scan")
def scan() -> None:
    """Queue a scan of SHAR's instance list (its result shows in `untracked list`)."""
    job = service.request_scan(actor=CLI)
    click.echo(
        f"scan queued as job {job.id}"
        + (f" (not yet handed to the queue: {job.enqueue_error})" if job.enqueue_error else "")
    )


@untracked_group.command("list")
@FORMAT_OPTION
def list_untracked(fmt: str) -> None:
    """What the last scan found that waits for a decision."""
    page = service.untracked_page(actor=CLI)
    rows = [
        {
            "shar_instance_id": u.shar_instance_id,
            "workflow_name": u.workflow_name,
            "status": u.status,
            "shar_created_at": iso(u.shar_created_at),
            "duplicate_of": u.correlation_id,
        }
        for u in page.items
    ]
    if fmt == "json":
        emit_json({"items": rows, "ignored": page.ignored})
    else:
        table(rows, ["shar_instance_id", "workflow_name", "status", "shar_created_at", "duplicate_of"])


@untracked_group.command("adopt")
@click.argument("shar_instance_id")
@click.option("--workflow", "workflow_name", required=True, help="The workflow the instance belongs to.")
def adopt(shar_instance_id: str, workflow_name: str) -> None:
    """Track a SHAR instance as an instance of WORKFLOW."""
    instance = service.adopt_shar_instance(shar_instance_id, workflow_name, actor=CLI)
    click.echo(f"SHAR instance {shar_instance_id} adopted as instance {instance.id} ({instance.status})")


@untracked_group.command("ignore")
@click.argument("shar_instance_id")
def ignore(shar_instance_id: str) -> None:
    """Never list this SHAR instance again."""
    service.ignore_shar_instance(shar_instance_id, actor=CLI)
    click.echo(f"SHAR instance {shar_instance_id} ignored")
