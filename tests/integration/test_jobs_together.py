"""Launch jobs run together when their queue is behind (app.jobs.together, issue 21): one claim
transaction and one answer transaction for several launches, each job keeping its own attempt,
outcome and events; a failing call fails only its job, an outage holds only the jobs not yet
answered, a lost race writes each answer alone, and a quiet queue runs every job alone."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask, current_app, request
from huey.api import Task
from sqlalchemy import select, text, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs import handover, together
from app.jobs.queues import current_queues, message_id
from app.jobs.runner import run_job
from app.jobs.specs import EXTENSION_KEY, spec_for
from app.lifecycle import events
from app.models import ActivityEvent, JobAttempt, JobRecord, SharOutage, WorkflowInstance
from app.models._base import utcnow
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.gateways import ServedGateway, base_gateway
from tests.support.sql_log import recorded


def _queued_launches(workflow: str, count: int, actor: Any, *, waited: float = 5.0) -> list[int]:
    """The jobs of `count` new launches of `workflow` (queued: no consumer runs here), as if queued
    `waited` seconds ago."""
    before = set(db.session.scalars(select(JobRecord.id)))
    for n in range(count):
        launch_instance(workflow, {"n": n}, actor=actor)
    ids = sorted(set(db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "launch_instance"))) - before)
    queued = utcnow() - timedelta(seconds=waited)
    db.session.execute(update(JobRecord).where(JobRecord.id.in_(ids)).values(created_at=queued))
    db.session.commit()
    return ids


def _waiting(make_app: Any, workflow: str, count: int, *, waited: float = 5.0, **settings: Any) -> list[int]:
    """An app (`settings` added to the tests' own: their SHAR timeout, 5 s, is half a launch attempt's
    limit at their time scale, so jobs may run together), a user, `workflow` created, and its `count`
    queued launches (_queued_launches); the session let go, as a worker starts with none."""
    make_app(**settings)
    user = make_user()
    create_workflow(workflow, bpmn("user_task"), actor=user, async_=False)
    ids = _queued_launches(workflow, count, user, waited=waited)
    db.session.remove()
    return ids


@contextmanager
def _behind(pace: float = 0.01) -> Iterator[None]:
    """Jobs may run together, SHAR having answered lately in `pace` seconds."""
    with together.enabled():
        together.paced(spec_for("launch_instance"), pace)
        yield


@contextmanager
def _launches_together(**changes: Any) -> Iterator[None]:
    """Launch jobs run together (_behind) with their `Together` changed (its call, read or most)."""
    spec = spec_for("launch_instance")
    assert spec.together is not None
    registry = current_app.extensions[EXTENSION_KEY]
    registry._specs[spec.job_type] = replace(spec, together=replace(spec.together, **changes))
    try:
        with _behind():
            yield
    finally:
        registry._specs[spec.job_type] = spec


def _drained(huey: Any, caplog: pytest.LogCaptureFixture) -> list[int]:
    """Run every message left in `huey`'s queue; the jobs whose message found them done."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sharboard.shar.jobs"):
        while (message := huey.dequeue()) is not None:
            huey.execute(message)
    return [r.job_id for r in caplog.records if r.getMessage().startswith("job not claimed")]  # type: ignore[attr-defined]


def _jobs(ids: list[int]) -> list[tuple[str, int]]:
    db.session.expire_all()
    jobs = {job.id: job for job in db.session.scalars(select(JobRecord).where(JobRecord.id.in_(ids)))}
    return [(jobs[i].state, jobs[i].attempts) for i in ids]


def _attempts(ids: list[int]) -> list[list[str]]:
    rows = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id.in_(ids)).order_by(JobAttempt.id)).all()
    return [[a.outcome for a in rows if a.job_id == i] for i in ids]


def _instances(ids: list[int]) -> list[WorkflowInstance]:
    jobs = {job.id: job for job in db.session.scalars(select(JobRecord).where(JobRecord.id.in_(ids)))}
    return [db.session.get(WorkflowInstance, jobs[i].target_id) for i in ids]


def _launch_requests(shar: Any) -> int:
    log = httpx.get(f"{shar.url}/_sharlite/requests").json()
    return len([r for r in log if r["method"] == "POST" and r["path"].endswith("/instances")])


def test_a_queue_behind_runs_its_first_launches_in_two_transactions(database: str, make_app: Any, shar: Any) -> None:
    ids = _waiting(make_app, "Together", 4)
    heard: list[tuple[str, str]] = []

    def listener(sender: Any, **_: Any) -> None:
        with db.engine.connect() as other:  # what every other reader sees when the event fires
            committed = other.execute(text("SELECT status FROM workflow_instances WHERE id = :i"), {"i": sender.id})
            heard.append((sender.id, committed.scalar()))

    events.instance_launched.connect(listener)
    try:
        with _behind():
            with recorded(db.engine) as (commits, statements):
                run_job(ids[0])
    finally:
        events.instance_launched.disconnect(listener)

    assert len(commits) == 2  # the claims with their attempts; the answers with the successes
    # Nothing is read twice: the jobs come back from their claims, the placeholders (with their
    # workflow) in one read (the listener's own reads, `SELECT status`, aside); the successes are one
    # UPDATE, the counts' version moves once for the four status changes.
    reads = [re.match(r"SELECT .*?\sFROM\s+(\w+)", st, re.S) for st in statements if not st.startswith("SELECT status")]
    tables = [match.group(1) for match in reads if match]
    assert tables.count("job_records") == 0 and tables.count("workflow_instances") == 1, tables
    assert tables.count("workflows") <= 1, tables  # the version's file, the first time this process names its elements
    assert len([st for st in statements if st.startswith("UPDATE workflows") and "counts_revision" in st]) == 1
    status_changes = [st for st in statements if st.startswith("UPDATE workflow_instances")]
    assert len(status_changes) == 4, statements
    assert _jobs(ids) == [("succeeded", 1)] * 4
    assert _attempts(ids) == [["succeeded"]] * 4
    instances = _instances(ids)
    assert [i.status for i in instances] == ["running"] * 4
    assert len({i.shar_instance_id for i in instances}) == 4 and all(i.launch_requests == 1 for i in instances)
    assert sorted(heard) == sorted((i.id, "running") for i in instances)  # each once, after the commit
    assert _launch_requests(shar) == 4
    kinds = db.session.scalars(select(ActivityEvent.kind).where(ActivityEvent.target_id == instances[2].id)).all()
    assert kinds.count("status_running") == 1
    # The others' own messages come later: each finds its job done and runs nothing.
    assert [run_job(i) for i in ids[1:]] == [None, None, None]
    assert _launch_requests(shar) == 4 and _attempts(ids) == [["succeeded"]] * 4


@pytest.mark.parametrize(
    "situation",
    ["not behind", "not enabled", "pace unknown", "SHAR slow lately"],
)
def test_a_job_runs_alone_unless_its_queue_is_behind_and_shar_fast(
    database: str, make_app: Any, shar: Any, situation: str
) -> None:
    ids = _waiting(make_app, "Alone", 3, waited=0.0 if situation == "not behind" else 5.0)
    if situation == "not enabled":
        together.paced(spec_for("launch_instance"), 0.01)
        try:
            run_job(ids[0])
        finally:
            together._pace.clear()
    elif situation == "pace unknown":
        with together.enabled():
            run_job(ids[0])
    else:
        with _behind(pace=0.01 if situation == "not behind" else together.FAST_SECONDS * 2):
            run_job(ids[0])
    assert _jobs(ids) == [("succeeded", 1), ("queued", 0), ("queued", 0)]
    assert _launch_requests(shar) == 1


@pytest.mark.parametrize(
    ("time_scale", "shar_timeout", "allowed"),
    [(1.0, 30.0, True), (1.0, 151.0, False), (0.01, 5.0, True), (0.01, 6.0, False)],
)
def test_no_more_together_than_the_time_limit_allows(
    make_app: Any, time_scale: float, shar_timeout: float, allowed: bool
) -> None:
    """The calls run at once: jobs run together only when SHAR's timeout ends them within half an
    attempt's limit (a launch's: 300 s, scaled, at least 10 s); never more than the kind's most,
    and only while SHAR answered fast lately."""
    make_app(time_scale=time_scale, shar_timeout=shar_timeout)
    spec = spec_for("launch_instance")
    assert spec.together is not None and spec.together.most > 1
    with _behind(pace=0.001):
        assert together.how_many(spec, waited=1.0) == (spec.together.most if allowed else 1)
        assert together.how_many(spec, waited=0.0) == 1
        assert together.how_many(spec_for("complete_task"), waited=1.0) == 1  # a kind that declares no way
    with _behind(pace=together.FAST_SECONDS):
        assert together.how_many(spec, waited=1.0) == 1


def test_a_failing_call_fails_only_its_job(database: str, make_app: Any, shar: Any) -> None:
    make_app()
    user = make_user()
    create_workflow("Kept", bpmn("user_task"), actor=user, async_=False)
    create_workflow("Dropped", bpmn("user_task"), actor=user, async_=False)
    ids = [
        *_queued_launches("Kept", 1, user),
        *_queued_launches("Dropped", 1, user),
        *_queued_launches("Kept", 1, user),
    ]
    httpx.delete(f"{shar.url}/api/v1/workflows/Dropped").raise_for_status()  # SHAR no longer has it
    db.session.remove()
    with _behind():
        run_job(ids[0])
    states = _jobs(ids)
    assert states[0] == ("succeeded", 1) and states[2] == ("succeeded", 1)
    assert states[1][0] in ("retrying", "failed"), states  # its own outcome, as a job alone would have
    assert _attempts(ids)[1] == ["retry" if states[1][0] == "retrying" else "failed"]
    assert [i.status for i in _instances([ids[0], ids[2]])] == ["running", "running"]


def _gateway(on_launch: Callable[[int, dict[str, Any]], tuple[Any, int] | None]) -> ServedGateway:
    """The base contract's gateway (threaded), asking `on_launch(n, variables)` before its n-th launch
    (from 1): an answer it returns is given instead."""
    gateway: Flask = base_gateway()
    launches = [0]

    @gateway.before_request
    def before() -> Any:
        if request.method == "POST" and request.path.endswith("/instances"):
            launches[0] += 1
            return on_launch(launches[0], (request.get_json(silent=True) or {}).get("variables") or {})
        return None

    return ServedGateway(gateway)


def test_the_calls_are_made_at_once(database: str, make_app: Any) -> None:
    """Against a SHAR that takes its time, a worker waits out one call for all its jobs, not one each."""
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def on_launch(n: int, variables: dict[str, Any]) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(1.0)  # long enough that four calls made at once overlap on a loaded machine
        with lock:
            in_flight[0] -= 1

    served = _gateway(on_launch)
    try:
        ids = _waiting(make_app, "Slow", 4, shar_base_url=served.url)
        with _behind():
            run_job(ids[0])
        assert _jobs(ids) == [("succeeded", 1)] * 4
        assert most[0] == 4
    finally:
        served.stop()


def test_the_next_batch_makes_its_calls_on_the_same_threads(database: str, make_app: Any, shar: Any) -> None:
    """The calls' threads are kept for the next batch (starting a thread per call cost more CPU than
    the call's own bookkeeping); each batch still makes its calls at once."""
    ids = _waiting(make_app, "Reused", 8)
    together_spec = spec_for("launch_instance").together
    assert together_spec is not None
    send = together_spec.call
    threads: list[threading.Thread] = []  # the objects, held: an ident or an address may be reused

    def call(item: Any) -> Any:
        threads.append(threading.current_thread())
        time.sleep(0.2)  # the four calls of a batch overlap: each needs a thread of its own
        return send(item)

    with _launches_together(call=call, most=4):
        run_job(ids[0])
        first = set(threads)
        threads.clear()
        run_job(ids[4])
    assert _jobs(ids) == [("succeeded", 1)] * 8
    assert len(first) == 4 and set(threads) == first


def test_an_outage_holds_the_jobs_it_met(database: str, make_app: Any) -> None:
    served = _gateway(lambda n, variables: ({"error": "down for maintenance"}, 503) if variables["n"] >= 2 else None)
    try:
        ids = _waiting(make_app, "Held", 4, shar_base_url=served.url)
        with _behind():
            run_job(ids[0])
        # Two answered; two met the outage (a 503: not served). The held ones give their claim back (no
        # attempt counted) and wait for the release.
        assert _jobs(ids) == [("succeeded", 1), ("succeeded", 1), ("held", 0), ("held", 0)]
        assert _attempts(ids) == [["succeeded"], ["succeeded"], ["held"], ["held"]]
        assert db.session.scalars(select(JobRecord.held_tries).where(JobRecord.id.in_(ids[2:]))).all() == [0, 0]
        assert db.session.scalars(select(SharOutage.since)).first() is not None
    finally:
        served.stop()


def test_a_lost_race_writes_each_answer_alone(database: str, make_app: Any) -> None:
    """A placeholder is moved elsewhere by another writer while the calls are in SHAR: its answer's
    compare-and-set loses, the answers' transaction is given up (with the answers written before it),
    and each is written alone: that one keeps its SHAR id and says so, the others run. The moved one is
    the last the answers are written in (their order: by version, then id)."""
    moved: dict[str, Any] = {}

    def on_launch(n: int, variables: dict[str, Any]) -> None:
        if n == 1:
            with moved["engine"].begin() as other:
                cancelled = {"i": moved["id"]}
                other.execute(text("UPDATE workflow_instances SET status = 'cancelled' WHERE id = :i"), cancelled)

    served = _gateway(on_launch)
    try:
        ids = _waiting(make_app, "Raced", 3, shar_base_url=served.url)
        moved.update(engine=db.engine, id=max(i.id for i in _instances(ids)))
        db.session.remove()
        launched: list[str] = []

        def listener(sender: Any, **_: Any) -> None:
            launched.append(sender.id)

        events.instance_launched.connect(listener)
        try:
            with _behind():
                run_job(ids[0])
        finally:
            events.instance_launched.disconnect(listener)
        assert _jobs(ids) == [("succeeded", 1)] * 3
        instances = _instances(ids)
        first = next(i for i in instances if i.id == moved["id"])
        others = [i for i in instances if i is not first]
        assert first.status == "cancelled" and first.shar_instance_id
        kinds = db.session.scalars(select(ActivityEvent.kind).where(ActivityEvent.target_id == first.id)).all()
        assert "launched_after_cancel" in kinds and "status_running" not in kinds
        assert [i.status for i in others] == ["running", "running"]
        assert sorted(launched) == sorted(i.id for i in others)
    finally:
        served.stop()


def test_the_queue_gives_back_the_messages_of_jobs_run_together(
    database: str, make_app: Any, shar: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The companions' own messages leave the queue when their jobs are claimed along (one Redis
    round trip): no worker dequeues them. The leader's own message, run, finds its job done; a job
    queued after them keeps its message; nothing is left asking Huey to drop a later message."""
    ids = _waiting(make_app, "Skipped", 4)
    huey = current_queues().huey(spec_for("launch_instance").queue(current_settings()))
    assert huey.pending_count() == 4
    with _launches_together(most=3):
        run_job(ids[0])
    assert _jobs(ids) == [("succeeded", 1)] * 3 + [("queued", 0)]
    assert huey.pending_count() == 2  # the leader's and the fourth job's
    assert _drained(huey, caplog) == [ids[0]]
    assert _jobs(ids) == [("succeeded", 1)] * 4
    assert not any(huey.is_revoked(Task(id=message_id(i))) for i in ids)


def test_a_message_is_taken_back_however_it_was_handed_over(make_app: Any) -> None:
    """One message handed over alone, two in a batch: take_back finds all three by their bytes (the
    time limit they carry comes from handover.message_timeout in both ways)."""
    make_app()
    queue = spec_for("launch_instance").queue(current_settings())
    huey = current_queues().huey(queue)
    current_queues().enqueue(queue, 1, timeout=handover.message_timeout("launch_instance"))
    current_queues().enqueue_many(queue, [2, 3], timeout=handover.message_timeout("launch_instance"))
    current_queues().enqueue(queue, 4, timeout=handover.message_timeout("launch_instance"))
    assert huey.pending_count() == 4
    handover.take_back("launch_instance", queue, [1, 2, 3])
    assert [message.args for message in huey.pending()] == [(4,)]


def test_on_hueys_sqlite_storage_the_companions_messages_are_dropped_unrun(
    database: str, make_app: Any, shar: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the queues are Huey's SQLite storage (the embedded stack), Huey drops the companions'
    messages unrun (revoked once) and clears each request as it drops it."""
    ids = _waiting(make_app, "SkippedLite", 3, redis_url="")
    with _behind():
        run_job(ids[0])
    assert _jobs(ids) == [("succeeded", 1)] * 3
    huey = current_queues().huey(spec_for("launch_instance").queue(current_settings()))
    assert huey.pending_count() == 3
    assert _drained(huey, caplog) == [ids[0]]
    assert not any(huey.is_revoked(Task(id=message_id(i))) for i in ids)


def test_when_reading_them_together_fails_each_runs_alone(database: str, make_app: Any, shar: Any) -> None:
    ids = _waiting(make_app, "Unread", 3)

    def unreadable(jobs: Any) -> Any:
        raise RuntimeError("the read failed")

    with _launches_together(read=unreadable):
        run_job(ids[0])
    assert _jobs(ids) == [("succeeded", 1)] * 3  # claimed together, then each launched alone
    assert _attempts(ids) == [["succeeded"]] * 3
