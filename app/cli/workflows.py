"""`flask shar workflow ...` and `flask shar instance ...`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click
from sqlalchemy import select

from app import json_input
from app.cli import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, service_errors, table
from app.errors import InvalidInput
from app.extensions import db
from app.models import JobRecord, Workflow, WorkflowInstance
from app.serializers import instance_dict, job_dict, workflow_dict
from app.services.instances import complete_task, launch_instance
from app.services.lookups import get_instance, get_workflow, latest_versions_query
from app.services.sync import sync_now
from app.services.workflows import create_workflow, delete_workflow
from app.status import INSTANCE_STATUSES


def parse_variables(raw: str | None) -> dict:
    if not raw:
        return {}
    try:  # strict JSON within the size and depth limits (app.json_input)
        return json_input.loads_object(raw, what="--variables", field="variables")
    except InvalidInput as exc:
        fail(exc.message)


@shar_cli.group("workflow")
def workflow_group() -> None:
    """Create, list, launch, delete and export workflows."""


@workflow_group.command("create")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default="")
@click.option("--sync", "blocking", is_flag=True, help="Wait for SHAR instead of queueing (default: SHAR_ASYNC_ENABLED).")
@FORMAT_OPTION
@service_errors
def create(name: str, file: Path, description: str, blocking: bool, fmt: str) -> None:
    """Create workflow NAME from a BPMN FILE (queued unless --sync)."""
    try:
        xml = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    result = create_workflow(name, xml, description=description, async_=False if blocking else None)
    workflow = result.workflow
    if fmt == "json":
        emit_json({"id": workflow.id, "name": workflow.name, "status": workflow.status, "version": workflow.version})
    else:
        click.echo(f"{workflow.name} v{workflow.version}: {workflow.status}" + ("" if result.created else " (unchanged)"))
    if workflow.status == "failed":
        fail(f"creation failed: {workflow.error}")
    _warn_if_not_queued("workflow", workflow.id)


@workflow_group.command("list")
@FORMAT_OPTION
def list_workflows(fmt: str) -> None:
    """The latest version of each workflow."""
    rows = [workflow_dict(w) for w in db.session.scalars(latest_versions_query().order_by(Workflow.name))]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "name", "version", "status", "updated_at"])


@workflow_group.command("launch")
@click.argument("name")
@click.option("--variables", help="A JSON object.")
@click.option("--wait", is_flag=True, help="Wait until the instance has left `launching`.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@FORMAT_OPTION
@service_errors
def launch(name: str, variables: str | None, wait: bool, timeout: float, fmt: str) -> None:
    """Launch an instance of NAME."""
    instance = launch_instance(name, parse_variables(variables))
    if _warn_if_not_queued("instance", instance.id) and wait:
        fail(f"instance {instance.id} is stored but the queue is unavailable; not waiting")
    deadline = time.monotonic() + timeout
    while wait and instance.status == "launching" and time.monotonic() < deadline:
        time.sleep(0.5)
        db.session.expire_all()
        instance = db.session.get(WorkflowInstance, instance.id)
    _show_instance(instance, fmt)
    if wait and instance.status in ("launching", "failed"):
        fail(f"instance {instance.id} is {instance.status}" + (f": {instance.error}" if instance.error else ""))


@workflow_group.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Do not ask.")
@FORMAT_OPTION
@service_errors
def delete(name: str, force: bool, fmt: str) -> None:
    """Make NAME inactive and remove it from SHAR."""
    get_workflow(name)
    if not force and not click.confirm(f"Delete workflow {name}?", err=True):
        fail("not deleted")
    workflow = delete_workflow(name)
    if fmt == "json":
        emit_json(workflow_dict(workflow))
    else:
        click.echo(f"{name} is inactive; removal from SHAR is queued")


@workflow_group.command("export")
@click.argument("name")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@click.option("--format", "fmt", type=click.Choice(["bpmn", "json"]), default="bpmn", show_default=True)
@service_errors
def export(name: str, output: Path | None, fmt: str) -> None:
    """Write NAME's latest BPMN (or its JSON with the BPMN inside)."""
    workflow = get_workflow(name)
    text = workflow.bpmn_xml if fmt == "bpmn" else json.dumps(workflow_dict(workflow, with_bpmn=True), indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@shar_cli.group("instance")
def instance_group() -> None:
    """List, show and complete instances."""


@instance_group.command("list")
@click.option("--workflow", "workflow_name")
@click.option("--status", type=click.Choice(INSTANCE_STATUSES))
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@FORMAT_OPTION
def list_instances(workflow_name: str | None, status: str | None, limit: int, fmt: str) -> None:
    """Newest instances first."""
    query = select(WorkflowInstance).join(Workflow).order_by(WorkflowInstance.created_at.desc()).limit(limit)
    if workflow_name:
        query = query.where(Workflow.name == workflow_name)
    if status:
        query = query.where(WorkflowInstance.status == status)
    rows = [instance_dict(i) for i in db.session.scalars(query)]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "workflow_name", "status", "launched_at", "completed_at"])


@instance_group.command("show")
@click.argument("instance_id")
@click.option("--sync", "refresh", is_flag=True, help="Read it from SHAR first.")
@FORMAT_OPTION
@service_errors
def show(instance_id: str, refresh: bool, fmt: str) -> None:
    """One instance."""
    instance = get_instance(instance_id)
    if refresh:
        from app.shar import SharError

        try:
            sync_now(instance)
        except SharError as exc:
            fail(f"SHAR: {exc}")
    _show_instance(instance, fmt)


@instance_group.command("complete")
@click.argument("instance_id")
@click.option("--variables", help="A JSON object merged into the instance.")
@FORMAT_OPTION
@service_errors
def complete(instance_id: str, variables: str | None, fmt: str) -> None:
    """Queue the completion of the instance's waiting user task."""
    job = complete_task(instance_id, variables=parse_variables(variables))
    if fmt == "json":
        emit_json(job_dict(job))
    else:
        click.echo(f"completion queued (job {job.id})")
    _warn_if_not_queued("instance", instance_id)


def _warn_if_not_queued(target_type: str, target_id: object) -> bool:
    """Say on stderr when the newest job for the target is stored but Redis refused it."""
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_type == target_type,
                                                     JobRecord.target_id == str(target_id))
                             .order_by(JobRecord.id.desc()).limit(1)).first()
    if job is None or not job.enqueue_error:
        return False
    click.echo(f"warning: job {job.id} is stored but not queued ({job.enqueue_error}); "
               "it is queued when the queue is back", err=True)
    return True


def _show_instance(instance: WorkflowInstance, fmt: str) -> None:
    data = instance_dict(instance)
    if fmt == "json":
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>18}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
