"""The long-running processes: a queue's consumer and the periodic scheduler. The CLI starts
them by name; this module owns how they run."""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import threading

from flask import Flask

from app.core.children import die_with_parent
from app.core.extensions import db


def prepare_forks(app: Flask) -> None:
    """What every fork of this process (Huey's workers, also those it restarts) does around the fork."""

    def _fresh_pool_in_worker() -> None:
        # A forked worker must not share the parent's pooled connections (with SQLite
        # that shares its locks): drop them without closing the parent's.
        with app.app_context():
            db.engine.dispose(close=False)

    os.register_at_fork(after_in_child=_fresh_pool_in_worker)
    # A worker dies with this consumer: killed, it would leave them running, re-parented to PID 1.
    os.register_at_fork(after_in_child=functools.partial(die_with_parent, os.getpid()))
    # What this process holds when Huey forks a worker goes to the collector's permanent generation:
    # a worker's first full collection would otherwise write the header of every object inherited
    # from here, copying each of their pages (about 20 MiB a worker: bench/sync_memory.py).
    os.register_at_fork(before=gc.freeze)
    _load_once_for_all_forks()


def _load_once_for_all_forks() -> None:
    """Build here what every worker would otherwise build on its first job (a third of that job's
    CPU): the metrics' library and the SHAR client's TLS settings. Nothing that holds a connection."""
    from app.core import metrics
    from app.shar.client import tls_context

    metrics.prepare()
    tls_context()


def run_consumer(app: Flask, queue_name: str, workers: int) -> None:
    """Run Huey's consumer for one queue here; process workers so job time limits are enforced."""
    from app.jobs import together
    from app.jobs.heartbeat import HeartbeatConsumer
    from app.jobs.queues import SkippedMessages, current_queues

    prepare_forks(app)
    together.enable()  # a worker whose queue is behind runs several jobs at once
    logging.getLogger("huey").addFilter(SkippedMessages())
    # Every handler is imported already (app.tasks, by create_app), so workers forked below
    # import nothing on their first job.
    consumer = HeartbeatConsumer(
        current_queues().huey(queue_name),
        app=app,
        queue=queue_name,
        workers=workers,
        worker_type="process",
        periodic=False,
        check_worker_health=True,
        initial_delay=0.05,
        max_delay=1.0,
    )
    consumer.run()


def run_scheduler(app: Flask, *, interval: float = 1.0) -> None:
    """Tick the periodic entries until SIGINT or SIGTERM."""
    from app.jobs.scheduler import run_scheduler as loop
    from app.tasks.schedule import ENTRIES

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    loop(app, stop, ENTRIES, interval=interval)


def migrate_database() -> None:
    """Bring the database schema up to the newest migration."""
    from flask_migrate import upgrade

    upgrade()
