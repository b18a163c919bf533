"""Bookkeeping of the periodic work: scheduler entries, leases, consumer heartbeats, SHAR's last
health check, outage and the calls it does not offer, and the queue samples behind the trends.
Seven concepts, seven tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.extensions import db


class ScheduleRun(db.Model):
    """When a scheduler entry last started: claimed by compare-and-set, so a doubled
    scheduler never starts an entry twice."""

    __tablename__ = "schedule_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(Text)


class Lease(db.Model):
    """Held while a run of the named work is under way, so two runs never overlap."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    held_until: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(Text)


class ConsumerHeartbeat(db.Model):
    """The last beat of a queue's consumer; alive while `alive_until` is in the future."""

    __tablename__ = "consumer_heartbeats"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    beat_at: Mapped[datetime]
    alive_until: Mapped[datetime]


class SharHealthCheck(db.Model):
    """SHAR's health as the scheduler last saw it: pages read this, never SHAR itself."""

    __tablename__ = "shar_health_checks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checked_at: Mapped[datetime]


class SharOutage(db.Model):
    """SHAR's reachability as every process sees it (app.jobs.outage): `since` is set while SHAR
    cannot be reached, and `ramp` is how many held jobs the next release may queue."""

    __tablename__ = "shar_outages"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None]
    ramp: Mapped[int] = mapped_column(default=0)


class SharFeature(db.Model):
    """Whether this SHAR offers one of the gateway's optional calls ("move", "variables", "migrate"),
    as the last job that made it found (services.shar_features): a row says it does not, or did."""

    __tablename__ = "shar_features"

    call: Mapped[str] = mapped_column(String(40), primary_key=True)
    offered: Mapped[bool]
    detail: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime]


class QueueSample(db.Model):
    """A queue's open and failed jobs at one moment: the scheduler samples every minute (trends)."""

    __tablename__ = "queue_samples"
    __table_args__ = (Index("ix_queue_samples_sampled_at", "sampled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sampled_at: Mapped[datetime]
    queue: Mapped[str] = mapped_column(String(100))
    open_jobs: Mapped[int]
    failed_jobs: Mapped[int]
