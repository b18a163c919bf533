"""The four Huey queues, one Huey instance each, on Redis or on Huey's SQLite storage.

The seed's three (SHAR_WORKFLOW_QUEUE, SHAR_INSTANCE_QUEUE, SHAR_SYNC_QUEUE) carry the SHAR
work; the fourth, SHAR_NOTIFY_QUEUE, carries callbacks and e-mails, so a slow receiver or SMTP
server never holds a worker that a sync is waiting for. The names are Settings.queue_names.

Each queue carries a single task, `execute_job(job_id)`: what to do is in the job's SQL
record, so Huey only ever holds an id and a lost Redis loses no job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task
from huey.storage import BaseStorage, RedisStorage
from redis import ConnectionPool

from app.core import redis_gate
from app.core.config import Settings

if TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger("sharboard.queues")
EXTENSION_KEY = "sharboard.queues"


class Queues:
    """The Huey instances of one app, by queue name."""

    def __init__(self, app: Flask, settings: Settings, execute: Callable[[int], object]) -> None:
        self.settings = settings
        self._hueys: dict[str, Huey] = {name: _build_huey(name, settings) for name in settings.queue_names}
        self._tasks = {name: _register_task(huey, app, execute) for name, huey in self._hueys.items()}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._hueys)

    def huey(self, queue: str) -> Huey:
        try:
            return self._hueys[queue]
        except KeyError:
            raise KeyError(f"unknown queue {queue!r}; known: {', '.join(self._hueys)}") from None

    def redis(self) -> object | None:
        """A client of the queues' Redis (its connection pool), or None on Huey's SQLite storage."""
        storage = next(iter(self._hueys.values())).storage
        return storage.conn if isinstance(storage, RedisStorage) else None

    def enqueue(self, queue: str, job_id: int, *, delay: float = 0.0, timeout: float | None = None) -> None:
        """Hand a job id to Huey; raises whatever the storage raises (e.g. Redis down)."""
        task = self._tasks[queue]
        if delay > 0:
            task.schedule(args=(job_id,), delay=delay, timeout=timeout, id=message_id(job_id))
        else:
            self._hueys[queue].enqueue(_message(task, job_id, timeout))

    def take_back(self, queue: str, job_ids: Sequence[int], *, timeout: float | None = None) -> None:
        """Take the queued messages of these jobs back unrun: their jobs were run by another
        (app.jobs.together). On Redis each message leaves the queue's list (one LREM each, all in one
        round trip: no worker dequeues it, and nothing is left behind); a message not found there (a
        worker took it meanwhile) finds its job done. On Huey's SQLite storage Huey is asked to drop
        each job's next message (its revocation, checked for every message anyway). `timeout` is the
        one the messages were queued with (their bytes are looked for). Raises whatever the storage
        raises."""
        task, huey = self._tasks[queue], self._hueys[queue]
        storage = huey.storage
        if _revokes(storage):
            for job_id in job_ids:
                huey.revoke_by_id(message_id(job_id), revoke_once=True)
            return
        pipe = storage.conn.pipeline(transaction=False)
        for job_id in job_ids:
            # From the oldest end, where the first of the queued jobs wait.
            pipe.lrem(storage.queue_key, -1, huey.serialize_task(_message(task, job_id, timeout)))
        pipe.execute()

    def enqueue_many(self, queue: str, job_ids: Sequence[int], *, timeout: float | None = None) -> None:
        """Hand many job ids to Huey at once: one Redis round trip (a pipeline), or one call each
        on Huey's SQLite storage. Raises whatever the storage raises; then none is assumed queued."""
        task, huey = self._tasks[queue], self._hueys[queue]
        storage = huey.storage
        if _revokes(storage):  # not a plain Redis list: no pipeline of LPUSHes
            for job_id in job_ids:
                huey.enqueue(_message(task, job_id, timeout))
            return
        pipe = storage.conn.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.lpush(storage.queue_key, huey.serialize_task(_message(task, job_id, timeout)))
        pipe.execute()

    def live_messages(self, wanted: Mapping[str, Collection[int]]) -> dict[int, int]:
        """How many messages Huey holds and will run for each job of `wanted` (queue name -> job ids):
        those waiting in the queue or in its schedule (a retry's, a delayed hand-over's), less the one a
        revocation drops (take_back on SQLite storage). Jobs with none are left out. Messages are matched
        by their id once decoded, not by rebuilt bytes: one that went through the schedule carries its
        eta. On Redis it is one round trip for every queue (LRANGE and ZRANGE in one MULTI, so the reads
        agree; Redis does O(N) once, where an LPOS for each of k jobs would do O(k*N)); on SQLite storage
        two queries per queue, and one per job found for its revocation. Raises what the storage raises."""
        stored = self._stored_messages(wanted)
        live: dict[int, int] = {}
        for queue, messages in stored.items():
            huey, ids = self._hueys[queue], set(wanted[queue])
            for data in messages:
                job_id = _job_in(huey, data)
                if job_id in ids:
                    live[job_id] = live.get(job_id, 0) + 1
            if _revokes(huey.storage):
                revoke_ids = {Task(id=message_id(job_id)).revoke_id: job_id for job_id in ids if job_id in live}
                for key in huey.storage.peek_many(list(revoke_ids)):
                    live[revoke_ids[key]] -= 1  # revoked once: its next message is dropped unrun
        return {job_id: count for job_id, count in live.items() if count > 0}

    def _stored_messages(self, wanted: Mapping[str, Collection[int]]) -> dict[str, list[bytes]]:
        """The raw messages of each queue in `wanted`, pending and scheduled."""
        queues = [queue for queue, ids in wanted.items() if ids]
        plain = [queue for queue in queues if not _revokes(self._hueys[queue].storage)]
        stored: dict[str, list[bytes]] = {}
        if plain:
            pipe = self._hueys[plain[0]].storage.conn.pipeline(transaction=True)
            for queue in plain:
                storage = self._hueys[queue].storage
                pipe.lrange(storage.queue_key, 0, -1)
                pipe.zrange(storage.schedule_key, 0, -1)
            replies = pipe.execute()
            for n, queue in enumerate(plain):
                stored[queue] = replies[2 * n] + replies[2 * n + 1]
        for queue in queues:
            if queue not in stored:
                storage = self._hueys[queue].storage
                stored[queue] = [bytes(data) for data in (*storage.enqueued_items(), *storage.scheduled_items())]
        return stored

    def counts(self, queue: str) -> dict[str, int]:
        """Pending and scheduled messages in Huey's storage for `queue`."""
        huey = self.huey(queue)
        return {"pending": huey.pending_count(), "scheduled": huey.scheduled_count()}


def message_id(job_id: int) -> str:
    """The id of every Huey message of job `job_id` (a job's message carries only its id), so that
    its pending message can be named without reading the queue."""
    return f"job-{job_id}"


def job_of(message: str) -> int | None:
    """The job a message id names (message_id's inverse), or None for another kind of message."""
    prefix, _, number = message.partition("-")
    return int(number) if prefix == "job" and number.isdigit() else None


def _job_in(huey: Huey, data: bytes) -> int | None:
    try:
        return job_of(huey.serializer.deserialize(data).id)
    except Exception:  # not a message of this app's (Huey itself skips one it cannot read)
        return None


def _revokes(storage: BaseStorage) -> bool:
    """Whether take_back revokes messages on this storage (not Redis lists, where it removes them)."""
    return not isinstance(storage, RedisStorage) or storage.priority


def _message(task: Any, job_id: int, timeout: float | None) -> Any:
    """The message that hands job `job_id` to a consumer now."""
    return task.s(job_id, timeout=timeout, id=message_id(job_id))


class SkippedMessages(logging.Filter):
    """Keeps Huey's warning about a revoked message out of the consumer's log: the only revocations
    are this app's (Queues.take_back on SQLite storage), logged where they are made."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Task %s was revoked")


# How long an idle worker waits on its Redis queue before it looks for a stop (Huey's default, 1 s, at
# time_scale 1): a consumer asked to stop waits this long for each idle worker.
READ_TIMEOUT = 1.0


def _build_huey(name: str, settings: Settings) -> Huey:
    if settings.redis_url:
        read_timeout = max(0.1, READ_TIMEOUT * settings.time_scale)
        pool = ConnectionPool.from_url(settings.redis_url, **redis_gate.options(settings.redis_url, read_timeout))
        return RedisHuey(name, connection_pool=pool, results=False, read_timeout=read_timeout)
    path = settings.huey_db_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False)


def _register_task(huey: Huey, app: Flask, execute: Callable[[int], object]):  # type: ignore[no-untyped-def]
    @huey.task(name="execute_job")
    def execute_job(job_id: int) -> None:
        with app.app_context():
            execute(job_id)

    return execute_job


def init_app(app: Flask, settings: Settings, execute: Callable[[int], object]) -> None:
    """`execute(job_id)` is what a consumer runs for each message: the job runner."""
    app.extensions[EXTENSION_KEY] = Queues(app, settings, execute)


def current_queues() -> Queues:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
