"""Consumer heartbeats in SQL, so the admin page and `queue status` can tell a live consumer."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import PeriodicRun
from app.models._base import utcnow

logger = logging.getLogger("sharboard.heartbeat")
INTERVAL = 5.0
# Alive means: a beat within three intervals.
TTL = timedelta(seconds=INTERVAL * 3)


def _key(queue: str) -> str:
    return f"consumer:{queue}"


def beat(queue: str) -> None:
    row = db.session.get(PeriodicRun, _key(queue)) or PeriodicRun(name=_key(queue))
    now = utcnow()
    row.last_finished_at, row.lease_until = now, now + TTL
    db.session.add(row)
    db.session.commit()


def consumer_alive(queue: str) -> bool:
    row = db.session.get(PeriodicRun, _key(queue))
    return bool(row and row.lease_until and row.lease_until > utcnow())


def start_heartbeat(app: Flask, queue: str) -> threading.Event:
    """Beat every few seconds from a daemon thread until the returned event is set."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            with app.app_context():
                try:
                    beat(queue)
                except Exception:
                    db.session.rollback()
                    logger.warning("heartbeat failed", exc_info=True)
                finally:
                    db.session.remove()
            stop.wait(INTERVAL)

    threading.Thread(target=run, daemon=True, name=f"heartbeat-{queue}").start()
    return stop
