"""`flask shar queue ...`: run the consumers and the scheduler, and look at the queues."""

from __future__ import annotations

import json
import time

import click
from flask import current_app

from app.cli.failed import failed_flush
from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.cli.processes import ProcessGroup, flask_command
from app.core.children import guard_from_env
from app.core.config import current_settings
from app.services.actors import CLI
from app.services.monitoring import queue_rows
from app.services.outages import current_outage
from app.services.sync import start_periodic_sync
from app.services.transactions import end_unit_of_work


@shar_cli.group("queue")
def queue_group() -> None:
    """Run and inspect the SHAR queues."""


@queue_group.command("start")
@click.option("--queue", "queue_name", help="Consume only this queue (default: one process per queue).")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Worker processes for the queue."
)
def start(queue_name: str | None, workers: int) -> None:
    """Consume the SHAR queues until interrupted."""
    from app.core.runtime import run_consumer

    guard_from_env()  # started by `up` where prctl is missing: die with it (app.core.children)

    settings = current_settings()
    if queue_name is None:
        group = ProcessGroup()
        group.stops.listen()  # a stop asked for while starting is acted on by wait(), not lost
        for name in settings.queue_names:
            group.start(
                f"consumer:{name}", flask_command("shar", "queue", "start", "--queue", name, "--workers", str(workers))
            )
        raise SystemExit(group.wait())
    if queue_name not in settings.queue_names:
        fail(f"unknown queue {queue_name!r}; the queues are {', '.join(settings.queue_names)}")
    run_consumer(current_app._get_current_object(), queue_name, workers)  # type: ignore[attr-defined]


@queue_group.command("scheduler")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between ticks.")
def scheduler(interval: float) -> None:
    """Run the periodic scheduler (periodic sync, reconciler, cleanup) until interrupted."""
    from app.core.runtime import run_scheduler

    guard_from_env()
    run_scheduler(current_app._get_current_object(), interval=interval)  # type: ignore[attr-defined]


@queue_group.command("status")
@FORMAT_OPTION
def status(fmt: str) -> None:
    """Per queue: pending, scheduled, running, failed, and whether a consumer is alive."""
    rows = queue_status()
    if fmt == "json":
        emit_json(rows)
    else:
        if (down := current_outage()) is not None:
            click.echo(
                f"SHAR unreachable since {down.since:%Y-%m-%d %H:%M:%S} UTC: {down.held} operations held "
                "until it answers (nothing fails meanwhile)"
            )
        table(rows, ["queue", "pending", "scheduled", "running", "held", "failed", "workers"])
    broken = [r for r in rows if r.get("error")]
    if broken:
        fail(f"cannot read queue {broken[0]['queue']}: {broken[0]['error']}")


def queue_status() -> list[dict[str, object]]:
    rows = [
        {
            "queue": r.name,
            "pending": r.broker.get("pending"),
            "scheduled": r.broker.get("scheduled"),
            **({"error": r.broker["error"]} if "error" in r.broker else {}),
            "running": r.jobs.get("running", 0),
            "held": r.jobs.get("held", 0),
            "failed": r.jobs.get("failed", 0),
            "workers": r.consumer_alive,
        }
        for r in queue_rows(actor=CLI)
    ]
    end_unit_of_work()
    return rows


@queue_group.command("sync")
@FORMAT_OPTION
def trigger_sync(fmt: str) -> None:
    """Queue the periodic sync now."""
    job = start_periodic_sync(actor=CLI)
    if job.enqueue_error:
        fail(f"periodic sync stored but not queued: {job.enqueue_error}")
    if fmt == "json":
        emit_json({"job_id": job.id, "queue": job.queue, "queued": True})
    else:
        click.echo(f"periodic sync queued (job {job.id})")


queue_group.add_command(failed_flush, "clear")  # one command, one answer, under both names


@queue_group.command("monitor")
@click.option("--interval", type=float, default=2.0, show_default=True)
@click.option("--count", type=int, default=0, help="Stop after this many refreshes (0: until Ctrl-C).")
@FORMAT_OPTION
def monitor(interval: float, count: int, fmt: str) -> None:
    """Queue sizes, refreshing (with --format=json: one JSON array per line and refresh)."""
    shown = 0
    while count == 0 or shown < count:
        rows = queue_status()
        if fmt == "json":
            click.echo(json.dumps(rows, default=str))
        else:
            click.echo(
                time.strftime("%H:%M:%S")
                + "  "
                + "  ".join(
                    f"{r['queue']}: pending={r['pending']} scheduled={r['scheduled']} failed={r['failed']}"
                    f" workers={'yes' if r['workers'] else 'no'}"
                    for r in rows
                )
            )
        shown += 1
        if count == 0 or shown < count:
            time.sleep(interval)
