"""The periodic scheduler: one small loop that starts the periodic work on time.

Due times are kept in SQL (schedule_runs) and claimed with a compare-and-set, so a
restarted or doubled scheduler neither skips nor repeats a run. Huey's own crontab
works in whole minutes; SHAR_SYNC_INTERVAL is in seconds, hence this loop. What runs
when is declared in app.tasks.schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import Flask
from sqlalchemy import update

from app.core.config import Settings, current_settings
from app.core.extensions import db
from app.jobs import database_faults
from app.models import ScheduleRun
from app.models._base import utcnow

logger = logging.getLogger("sharboard.scheduler")
Due = Callable[[datetime, datetime | None, Settings], bool | None]


@dataclass(frozen=True)
class Periodic:
    name: str
    due: Due  # None: not due, and record `now` as the start (first sight of a daily entry)
    action: Callable[[Settings], object]


def every(seconds: Callable[[Settings], float]) -> Due:
    def due(now: datetime, last: datetime | None, settings: Settings) -> bool:
        return last is None or (now - last).total_seconds() >= seconds(settings)

    return due


def daily_at(at: time) -> Due:
    """Due once a day at `at` UTC; a scheduler first started after it waits for the next day."""

    def due(now: datetime, last: datetime | None, settings: Settings) -> bool | None:
        slot = datetime.combine(now.date(), at)
        if slot > now:
            slot -= timedelta(days=1)
        if last is None:
            return None
        return last < slot

    return due


def tick(entries: tuple[Periodic, ...]) -> list[str]:
    """Start whatever is due now; returns the names started."""
    settings = current_settings()
    started = []
    for entry in entries:
        now = utcnow()
        row = db.session.get(ScheduleRun, entry.name)
        last = row.last_started_at if row else None
        verdict = entry.due(now, last, settings)
        if verdict is False or not _claim(entry.name, last, now):
            continue
        if verdict is None:
            continue  # first sight of a daily entry: remember it, run at the next slot
        try:
            result = entry.action(settings)
        except Exception as exc:
            database_faults.scheduler_met(exc)
            db.session.rollback()
            logger.exception("periodic entry failed", extra={"entry": entry.name})
            _finish(entry.name, f"failed: {exc}")
        else:
            _finish(entry.name, str(result)[:500])
            started.append(entry.name)
    return started


def _claim(name: str, seen: datetime | None, now: datetime) -> bool:
    if seen is None and db.session.get(ScheduleRun, name) is None:
        db.session.add(ScheduleRun(name=name, last_started_at=now))
        try:
            db.session.commit()
            return True
        except Exception:
            db.session.rollback()
            return False
    condition = ScheduleRun.last_started_at.is_(None) if seen is None else ScheduleRun.last_started_at == seen
    result = db.session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.name == name, condition)
        .values(last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(name: str, result: str) -> None:
    db.session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.name == name)
        .values(last_finished_at=utcnow(), last_result=result)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_scheduler(app: Flask, stop: threading.Event, entries: tuple[Periodic, ...], *, interval: float = 1.0) -> None:
    """Tick every `interval` seconds until `stop` is set."""
    logger.info("scheduler started")
    while not stop.is_set():
        with app.app_context():
            try:
                tick(entries)
            except Exception as exc:
                database_faults.scheduler_met(exc)  # the reconciler then gives back what a fault cut short
                db.session.rollback()
                logger.exception("scheduler tick failed")  # the database may be briefly away
            finally:
                db.session.remove()
        stop.wait(interval)
    logger.info("scheduler stopped")
