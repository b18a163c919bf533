"""`flask shar queue ...`: run the consumers and the scheduler."""
from __future__ import annotations

import threading

import click
from flask import current_app

from app.cli import shar_cli
from app.cli.output import fail
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
    huey = current_queues().huey(queue_name)
    consumer = huey.create_consumer(workers=workers, worker_type="process", periodic=False,
                                    check_worker_health=True, initial_delay=0.05, max_delay=1.0)
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
