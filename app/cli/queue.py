"""`flask shar queue ...`: run the consumers and the scheduler."""
from __future__ import annotations

import threading

import click
from flask import current_app

from app.cli import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.cli.processes import ProcessGroup, flask_command
from app.config import current_settings
from app.queues import current_queues


@shar_cli.group("queue")
def queue_group() -> None:
    """Run and inspect the SHAR queues."""


@queue_group.command("start")
@click.option("--queue", "queue_name", help="Consume only this queue (default: one process per queue).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes for the queue.")
def start(queue_name: str | None, workers: int) -> None:
    """Consume the SHAR queues until interrupted."""
    settings = current_settings()
    if queue_name is None:
        group = ProcessGroup()
        for name in settings.queue_names:
            group.start(f"consumer:{name}", flask_command("shar", "queue", "start", "--queue", name,
                                                          "--workers", str(workers)))
        raise SystemExit(group.wait())
    if queue_name not in settings.queue_names:
        fail(f"unknown queue {queue_name!r}; the queues are {', '.join(settings.queue_names)}")
    run_consumer(queue_name, workers)


def run_consumer(queue_name: str, workers: int) -> None:
    """Run Huey's consumer for one queue here; process workers so job time limits are enforced."""
    import os

    from app.extensions import db
    from app.jobs.heartbeat import HeartbeatConsumer
    from app.jobs.specs import all_specs

    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def _fresh_pool_in_worker() -> None:
        # A forked worker must not share the parent's pooled connections (with SQLite
        # that shares its locks): drop them without closing the parent's.
        with app.app_context():
            db.engine.dispose(close=False)

    os.register_at_fork(after_in_child=_fresh_pool_in_worker)
    all_specs()  # import every handler before forking, so workers import nothing on their first job
    consumer = HeartbeatConsumer(current_queues().huey(queue_name), app=app, queue=queue_name, workers=workers,
                                 worker_type="process", periodic=False, check_worker_health=True,
                                 initial_delay=0.05, max_delay=1.0)
    consumer.run()


@queue_group.command("scheduler")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between ticks.")
def scheduler(interval: float) -> None:
    """Run the periodic scheduler (periodic sync, reconciler, cleanup) until interrupted."""
    import signal

    from app.jobs.scheduler import run_scheduler

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_scheduler(current_app._get_current_object(), stop, interval=interval)  # type: ignore[attr-defined]


@queue_group.command("status")
@FORMAT_OPTION
def status(fmt: str) -> None:
    """Per queue: pending, scheduled, failed, and whether a consumer is alive."""
    rows = queue_status()
    if fmt == "json":
        emit_json(rows)
    else:
        table(rows, ["queue", "pending", "scheduled", "running", "failed", "workers"])
    broken = [r for r in rows if r.get("error")]
    if broken:
        fail(f"cannot read queue {broken[0]['queue']}: {broken[0]['error']}")


def queue_status() -> list[dict[str, object]]:
    from app.extensions import db
    from app.jobs.admin import counts_by_state
    from app.jobs.heartbeat import consumer_alive

    rows: list[dict[str, object]] = []
    for name in current_settings().queue_names:
        row: dict[str, object] = {"queue": name}
        try:
            row.update(current_queues().counts(name))
        except Exception as exc:  # noqa: BLE001  (a dead Redis is reported in the row, not a crash)
            row.update(pending=None, scheduled=None, error=f"{exc.__class__.__name__}: {exc}")
        jobs = counts_by_state(name)
        row.update(running=jobs.get("running", 0), failed=jobs.get("failed", 0),
                   workers=consumer_alive(name))
        rows.append(row)
    db.session.remove()
    return rows


@queue_group.command("sync")
@FORMAT_OPTION
def trigger_sync(fmt: str) -> None:
    """Queue the periodic sync now."""
    from app.jobs.dispatch import submit

    job = submit("periodic_sync", target_type="system", target_id="periodic_sync")
    if job.enqueue_error:
        fail(f"periodic sync stored but not queued: {job.enqueue_error}")
    if fmt == "json":
        emit_json({"job_id": job.id, "queue": job.queue, "queued": True})
    else:
        click.echo(f"periodic sync queued (job {job.id})")


@queue_group.command("clear")
@FORMAT_OPTION
def clear(fmt: str) -> None:
    """Clear failed jobs."""
    from app.jobs.admin import flush_failed

    count = flush_failed()
    emit_json({"cleared": count}) if fmt == "json" else click.echo(f"cleared {count} failed jobs")


@queue_group.command("monitor")
@click.option("--interval", type=float, default=2.0, show_default=True)
@click.option("--count", type=int, default=0, help="Stop after this many refreshes (0: until Ctrl-C).")
@FORMAT_OPTION
def monitor(interval: float, count: int, fmt: str) -> None:
    """Queue sizes, refreshing (with --format=json: one JSON array per line and refresh)."""
    import json
    import time

    shown = 0
    while count == 0 or shown < count:
        rows = queue_status()
        if fmt == "json":
            click.echo(json.dumps(rows, default=str))
        else:
            click.echo(time.strftime("%H:%M:%S") + "  " + "  ".join(
                f"{r['queue']}: pending={r['pending']} scheduled={r['scheduled']} failed={r['failed']}"
                f" workers={'yes' if r['workers'] else 'no'}" for r in rows))
        shown += 1
        if count == 0 or shown < count:
            time.sleep(interval)
