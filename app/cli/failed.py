"""`flask shar failed ...`: the failed jobs; `flask shar queue clear` is `failed flush`."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.core.serializers import job_dict
from app.services import failed_jobs
from app.services.actors import CLI


@shar_cli.group("failed")
def failed_group() -> None:
    """Failed jobs."""


@failed_group.command("list")
@click.option("--queue")
@click.option("--type", "job_type")
@FORMAT_OPTION
def failed_list(queue: str | None, job_type: str | None, fmt: str) -> None:
    rows = [job_dict(j) for j in failed_jobs.failed_jobs(actor=CLI, queue=queue, job_type=job_type)]
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["id", "job_type", "queue", "target_id", "attempts", "finished_at", "last_error"])


@failed_group.command("retry")
@click.argument("job_id")
@FORMAT_OPTION
def failed_retry(job_id: str, fmt: str) -> None:
    """Retry one failed job by id, or `all`."""
    if job_id == "all":
        report = failed_jobs.retry_all_failed(actor=CLI)
    elif job_id.isdigit():
        report = failed_jobs.retry_failed_jobs([int(job_id)], actor=CLI, action="job.retry")
    else:
        fail("give a job id or `all`")
    if fmt == "json":
        emit_json({"requeued": report.requeued, "skipped": report.skipped})
    else:
        click.echo(f"requeued {len(report.requeued)}, skipped {len(report.skipped)}")
        for skipped, why in report.skipped.items():
            click.echo(f"  {skipped}: {why}")
    if job_id != "all" and report.skipped:
        fail(next(iter(report.skipped.values())))


@failed_group.command("flush")
@FORMAT_OPTION
def failed_flush(fmt: str) -> None:
    """Delete every failed job record. `failed flush` and `queue clear` are one command."""
    count = failed_jobs.flush_failed_jobs(actor=CLI)
    emit_json({"deleted": count}) if fmt == "json" else click.echo(f"deleted {count} failed jobs")
