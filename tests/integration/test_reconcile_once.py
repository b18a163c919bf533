"""The reconciler hands a queued or retrying job over again only when Huey holds no message of it
that it will run: a backlog older than the time limits is left alone, however many passes meet it,
and a message lost (Redis restarted empty, a refused hand-over) comes back once. Real Redis, Huey's
real SQLite storage, and the real consumer where what runs matters."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import select, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs import handover
from app.jobs.queues import current_queues, message_id
from app.jobs.reconcile import reconcile
from app.jobs.specs import spec_for
from app.models import JobRecord
from app.models._base import utcnow
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import free_port, wait_until
from tests.support.stack import PrivateRedis

AN_HOUR_AGO = timedelta(hours=1)


def _huey(job_type: str = "create_workflow") -> Any:
    return current_queues().huey(spec_for(job_type).queue(current_settings()))


def _messages(huey: Any) -> Counter[int]:
    """How many messages of each job the queue holds, waiting or scheduled."""
    return Counter(task.args[0] for task in [*huey.pending(), *huey.scheduled()])


def _age(ids: list[int], **values: Any) -> None:
    """As if the jobs had waited an hour since last written: past every time limit."""
    stmt = update(JobRecord).where(JobRecord.id.in_(ids)).values(**values, updated_at=utcnow() - AN_HOUR_AGO)
    db.session.execute(stmt)  # one statement: another would move updated_at again
    db.session.commit()


def _workflows_waiting(count: int, name: str) -> tuple[list[Any], list[int]]:
    """`count` workflows being created, their jobs queued (no consumer yet) and an hour old."""
    user = make_user()
    workflows = [create_workflow(f"{name}{n}", bpmn("user_task"), actor=user).workflow for n in range(count)]
    ids = sorted(db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "create_workflow")))
    assert len(ids) == count
    _age(ids)
    return workflows, ids


def _each_ran_once(workflows: list[Any], ids: list[int], huey: Any) -> None:
    for workflow in workflows:
        wait_until(lambda w=workflow: refresh(w).status == "active", what=f"{workflow.name} to be created")
    db.session.expire_all()
    wait_until(
        lambda: (
            [(j.state, j.attempts) for j in db.session.scalars(select(JobRecord).where(JobRecord.id.in_(ids)))]
            == [("succeeded", 1)] * len(ids)
        ),
        what="every job to succeed",
    )
    wait_until(lambda: huey.pending_count() + huey.scheduled_count() == 0, what="the queue to be drained")


def test_a_backlog_is_left_alone_and_lost_messages_come_back_once(database: str, make_app: Any, processes: Any) -> None:
    make_app()
    workflows, ids = _workflows_waiting(5, "Backlog")
    huey = _huey()
    for _ in range(3):  # passes every 30 s over a backlog older than the time limit
        assert reconcile().requeued == []
    assert _messages(huey) == dict.fromkeys(ids, 1)

    huey.storage.flush_queue()  # as a Redis restarted empty would
    assert sorted(reconcile().requeued) == ids
    assert reconcile().requeued == []  # the next pass, at once
    _age(ids)
    assert reconcile().requeued == []  # a time limit later, still waiting behind the backlog
    assert _messages(huey) == dict.fromkeys(ids, 1)

    processes.start_consumers()
    _each_ran_once(workflows, ids, huey)


def test_retries_and_delayed_jobs_waiting_are_not_queued_again(make_app: Any) -> None:
    """A retry due an hour ago still waits behind the backlog (its message carries its eta, in the
    queue or in the schedule where a worker put it early); a job handed over with a delay waits in
    the schedule. Each pass asks again for the retries (their due time does not move), so each pass
    must find their messages."""
    make_app()
    _, ids = _workflows_waiting(4, "Later")
    huey = _huey()
    huey.storage.flush_all()
    retries, delayed = ids[:3], ids[3:]
    _age(retries, state="retrying", attempts=1, next_attempt_at=utcnow() - AN_HOUR_AGO)
    _age(delayed, next_attempt_at=utcnow() + AN_HOUR_AGO)
    for job_id in retries:
        handover.enqueue(db.session.get(JobRecord, job_id), delay=0.001)
    handover.enqueue(db.session.get(JobRecord, delayed[0]), delay=3600)
    for _ in range(2):  # a worker meets two messages not yet due: they go to the schedule
        huey.add_schedule(huey.dequeue())
    assert huey.pending_count() == 2 and huey.scheduled_count() == 2
    for _ in range(3):
        assert reconcile().requeued == []
    assert _messages(huey) == dict.fromkeys(ids, 1)

    huey.storage.flush_all()
    assert sorted(reconcile().requeued) == ids
    _age(delayed)
    for _ in range(2):
        assert reconcile().requeued == []
    assert _messages(huey) == dict.fromkeys(ids, 1)
    assert [t.eta is not None for t in huey.pending() if t.id == message_id(delayed[0])] == [True]  # its delay kept


def test_on_hueys_sqlite_storage_a_message_is_seen_and_a_revoked_one_is_not(
    database: str, make_app: Any, processes: Any
) -> None:
    """The embedded stack: the task table is read like the Redis list; a message Huey will drop
    unrun (revoked once, as Queues.take_back does there) counts as none."""
    make_app(redis_url="")
    workflows, ids = _workflows_waiting(3, "Lite")
    huey = _huey()
    for _ in range(2):
        assert reconcile().requeued == []
    assert _messages(huey) == dict.fromkeys(ids, 1)

    huey.storage.flush_all()  # the queue's file lost
    assert sorted(reconcile().requeued) == ids
    _age(ids)
    assert reconcile().requeued == []
    assert _messages(huey) == dict.fromkeys(ids, 1)

    huey.revoke_by_id(message_id(ids[0]), revoke_once=True)
    _age(ids)
    assert reconcile().requeued == [ids[0]]
    _age(ids)
    assert reconcile().requeued == []  # two messages, the first dropped unrun
    assert _messages(huey) == {ids[0]: 2, ids[1]: 1, ids[2]: 1}

    processes.start_consumers()
    _each_ran_once(workflows, ids, huey)


def test_a_refused_hand_over_that_went_through_is_not_repeated(make_app: Any) -> None:
    """The queue took the message but the reply was lost (the record says the hand-over failed):
    the message is found, the note cleared, nothing queued twice."""
    make_app()
    _, ids = _workflows_waiting(2, "Refused")
    db.session.execute(update(JobRecord).where(JobRecord.id.in_(ids)).values(enqueue_error="ConnectionError: reset"))
    db.session.commit()
    assert reconcile().requeued == []
    assert [refresh(db.session.get(JobRecord, i)).enqueue_error for i in ids] == [None, None]
    assert _messages(_huey()) == dict.fromkeys(ids, 1)


def test_a_pass_over_a_backlog_of_thousands_reads_redis_in_one_round_trip(tmp_path: Any, make_app: Any) -> None:
    """A Redis of the test's own, so its command count is this test's alone."""
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    try:
        make_app(redis_url=server.url)
        spec = spec_for("sync_instance")
        queue = spec.queue(current_settings())
        old = utcnow() - AN_HOUR_AGO
        rows = [
            JobRecord(job_type=spec.job_type, queue=queue, target_type="instance", target_id=str(n), updated_at=old)
            for n in range(2000)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        assert handover.enqueue_many(spec.job_type, queue, ids) == len(ids)
        client = redis.Redis.from_url(server.url)

        def commands() -> int:
            return int(client.info("stats")["total_commands_processed"])

        before = commands()
        assert reconcile().requeued == []
        # MULTI, LRANGE, ZRANGE, EXEC; and the INFO that asks
        assert commands() - before <= 5
        assert current_queues().huey(queue).pending_count() == len(ids)
    finally:
        server.stop()
