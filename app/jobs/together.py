"""Running several claimed jobs of one kind at once, when their queue is behind.

Each launch job alone costs two transactions, an attempt row and a worker's turn; when launches queue
up faster than the workers take them, that overhead is most of what bounds the rate, and against a
remote SHAR each worker waits out one call at a time. So a worker whose job waited (the queue is
behind) claims more first attempts of its kind with it, in the same transaction (`companions`), makes
their SHAR calls at once, and writes all the answers in one transaction (`run`). Only kinds that
declare how (JobSpec.together) do this, only in the consumers (`enable`), only while SHAR answers
fast, and only when SHAR's timeout ends the calls well within the attempt's time limit.

Nothing is given up: each job keeps its own claim, attempt row, outcome, log lines, metrics and events
(fired after the commit, in order); a call that fails fails only its job, an outage holds the jobs it
met, and when writing the answers together fails (a placeholder moved meanwhile, a lost lock race),
each is written alone. The companions' own queue messages are taken back unrun (Queues.take_back).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from app.core import metrics
from app.core.config import current_settings
from app.core.extensions import commit_keeping_loaded, db
from app.core.text import clip
from app.jobs import handover, outage
from app.jobs.attempt_ends import attempt_failed, hold, log_fields, run_after, succeeded
from app.jobs.specs import AfterCommit, JobSpec, Together
from app.lifecycle.states import JobState
from app.models import JobAttempt, JobRecord
from app.models._base import utcnow
from app.shar.errors import SharUnavailable

logger = logging.getLogger("sharboard.shar.jobs")

# A job taken this long after it was queued says the queue is behind; one taken sooner runs alone,
# so a launch on a quiet queue never waits for another's call.
BEHIND_SECONDS = 0.25
# Jobs run together only while SHAR answered this kind's calls faster than this lately: their calls
# are made at once, so a slow SHAR would get `most` times as many requests from each worker.
FAST_SECONDS = 1.0
_enabled = False
_pace: dict[str, float] = {}  # by job type: seconds one call took lately (a moving average)

Pair = tuple[JobRecord, JobAttempt]


def enable(on: bool = True) -> None:
    """Let this process run jobs together (the consumers call it before forking their workers)."""
    global _enabled
    _enabled = on


@contextmanager
def enabled() -> Iterator[None]:
    """Jobs run together within the block (tests)."""
    before = _enabled
    enable(True)
    try:
        yield
    finally:
        enable(before)
        _pace.clear()


def paced(spec: JobSpec, seconds: float) -> None:
    """Remember how long a job of this kind took (its call, mostly)."""
    last = _pace.get(spec.job_type)
    _pace[spec.job_type] = seconds if last is None else 0.7 * last + 0.3 * seconds


def how_many(spec: JobSpec, waited: float) -> int:
    """How many jobs of `spec`'s kind one worker runs at once now (1: alone)."""
    pace = _pace.get(spec.job_type)
    if not _enabled or spec.together is None or waited < BEHIND_SECONDS or pace is None or pace >= FAST_SECONDS:
        return 1
    settings = current_settings()
    # The calls run at once: the batch ends within half the attempt's limit even if SHAR took its whole
    # timeout to answer.
    if settings.shar_timeout > spec.effective_timeout(settings) / 2:
        return 1
    return spec.together.most


# Queued first attempts of one kind and queue, due, that no one holds (skipped, not waited for),
# oldest first, claimed as run_job claims its own; built once.
_DUE = (
    select(JobRecord.id)
    .where(
        JobRecord.job_type == bindparam("of_type"),
        JobRecord.queue == bindparam("of_queue"),
        JobRecord.state == JobState.QUEUED,
        JobRecord.attempts == 0,
        JobRecord.held_tries == 0,
        # One whose hand-over failed waits for the reconciler, which knows it has no message.
        JobRecord.enqueue_error.is_(None),
        or_(JobRecord.next_attempt_at.is_(None), JobRecord.next_attempt_at <= bindparam("due_at")),
    )
    .order_by(JobRecord.id)
    .limit(bindparam("wanted"))
    .with_for_update(skip_locked=True)
    .cte("due")  # a WITH: taken once, so no more than `wanted` rows are locked and claimed
)
_CLAIM_DUE = (
    update(JobRecord)
    .where(JobRecord.id.in_(select(_DUE.c.id)))
    .values(state=JobState.RUNNING, attempts=JobRecord.attempts + 1, updated_at=bindparam("due_at"), enqueue_error=None)
    .returning(JobRecord)
    .execution_options(populate_existing=True, synchronize_session=False)
)


def companions(job: JobRecord, spec: JobSpec, waited: float) -> list[JobRecord]:
    """Claim, with `job` (uncommitted: the caller commits the claims with their attempts), queued first
    attempts of its kind and queue, as many as how_many allows."""
    wanted = how_many(spec, waited) - 1
    if wanted < 1:
        return []
    params = {"of_type": job.job_type, "of_queue": job.queue, "due_at": utcnow(), "wanted": wanted}
    claimed = sorted(db.session.scalars(_CLAIM_DUE, params).all(), key=lambda row: row.id)
    if claimed:
        _take_back_their_messages(job.job_type, job.queue, [row.id for row in claimed])
    return claimed


def _take_back_their_messages(job_type: str, queue: str, job_ids: list[int]) -> None:
    """Take the companions' own messages back from the queue unrun (handover.take_back). Asked while
    their rows are still locked by the claim: a worker that took one of those messages meanwhile
    waits for the claim's commit, then finds the job running."""
    try:
        handover.take_back(job_type, queue, job_ids)
    except Exception as exc:  # Redis down: each message then finds its job done, at the cost of a claim
        logger.warning("could not take messages back", extra={"queue": queue, "error": str(exc)})
        return
    logger.info("jobs taken along; their messages taken back", extra={"queue": queue, "job_ids": job_ids})


def run(spec: JobSpec, pairs: Sequence[Pair]) -> list[Pair]:
    """Run the claimed `pairs` (their attempts committed): read what their calls need, make the calls
    at once, write the answers in one transaction, then end the others' attempts one by one. Returns
    the pairs that `read` left out, for the caller to run alone."""
    way = spec.together
    assert way is not None  # run only for a kind that declares how (how_many)
    started = time.monotonic()
    logger.info("jobs run together", extra={"job_type": spec.job_type, "job_ids": [job.id for job, _ in pairs]})
    try:
        items = way.read([job for job, _ in pairs])
    except Exception:  # each then runs alone, and its attempt records what fails
        db.session.rollback()
        logger.exception("reading jobs to run together failed; each runs alone", extra={"job_type": spec.job_type})
        return list(pairs)
    sent = [(pair, items[pair[0].id]) for pair in pairs if pair[0].id in items]
    answered: list[tuple[Pair, Any, Any]] = []
    failed: list[tuple[Pair, Exception, str]] = []
    held: list[tuple[Pair, str, bool]] = []
    for (pair, item), (answer, error, trace) in zip(sent, _calls(spec, way, sent), strict=True):
        if error is None:
            answered.append((pair, item, answer))
        elif isinstance(error, SharUnavailable):
            held.append((pair, clip(str(error)), error.sent))
        else:
            failed.append((pair, error, trace))
    if held:
        outage.opened(held[0][1])
    _write_answers(spec, way, answered, started)
    for pair, message, was_sent in held:
        hold(*pair, message, sent=was_sent)
        _counted(spec, "held", started)
    for pair, exc, trace in failed:
        db.session.rollback()
        outcome = attempt_failed(*pair, spec, exc, allow_retry=True, fields=log_fields(*pair), trace=trace)
        _counted(spec, outcome, started)
    return [pair for pair in pairs if pair[0].id not in items]


def _calls(spec: JobSpec, way: Together, sent: list[tuple[Pair, Any]]) -> list[tuple[Any, Exception | None, str]]:
    """Each job's call, made at once on threads of their own (a call touches no session: `read` gave
    it what it needs): its answer, or the error it raised with its traceback, in order."""
    call = way.call

    def one(item: Any) -> tuple[Any, Exception | None, str, float]:
        began = time.monotonic()
        try:
            return call(item), None, "", time.monotonic() - began
        except Exception as exc:  # the boundary of a job: its failure is recorded, the others go on
            return None, exc, traceback.format_exc(), time.monotonic() - began

    for pair, _item in sent:
        logger.info("job attempt started", extra=log_fields(*pair))
    if len(sent) > 1:
        results = list(_callers().map(one, [item for _pair, item in sent]))
    else:
        results = [one(item) for _pair, item in sent]
    for _answer, error, _trace, seconds in results:
        if error is None:
            paced(spec, seconds)
    return [(answer, error, trace) for answer, error, trace, _seconds in results]


# Threads for the calls, kept for the next batch: starting a thread per call cost more CPU than the
# call's own bookkeeping. Made on first use in each process (a forked worker has none of its
# parent's threads); as many as the batches under way at once need, up to CALLERS.
CALLERS = 64
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _callers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=CALLERS, thread_name_prefix="together"))
        return _pool[1]


def _write_answers(spec: JobSpec, way: Together, answered: list[tuple[Pair, Any, Any]], started: float) -> None:
    """Write every answer and every success in one transaction, then run what each left for after
    it; when that transaction cannot be had, write each alone."""
    if not answered:
        return
    order = way.order
    if order is not None:
        answered = sorted(answered, key=lambda entry: order(entry[1]))
    afters = _together(way, answered)
    if afters is None:
        afters = [_alone(spec, way, entry, started) for entry in answered]
    for (pair, _item, _answer), after in zip(answered, afters, strict=True):
        fields = log_fields(*pair)
        if after is not False:
            logger.info("job succeeded", extra=fields)
            _counted(spec, "succeeded", started)
            run_after(after, fields)


def _together(way: Together, answered: list[tuple[Pair, Any, Any]]) -> list[AfterCommit | None] | None:
    """All answers and successes in one commit; None when the transaction was lost on the way (a
    status compare-and-set that lost rolls the session back) or failed: nothing of it is kept."""
    session = db.session()
    session.connection()  # begins the transaction whose loss is watched for below
    transaction = session.get_transaction()
    afters: list[AfterCommit | None] = []
    try:
        for _pair, item, answer in answered:
            afters.append(way.apply(item, answer))
            if session.get_transaction() is not transaction:
                raise _Lost
        succeeded([pair for pair, _item, _answer in answered])
        commit_keeping_loaded()
    except Exception as exc:  # noqa: BLE001 - each is written alone next, which records its own failure
        db.session.rollback()
        if not isinstance(exc, _Lost):
            logger.warning("writing answers together failed; writing each alone", exc_info=True)
        return None
    return afters


class _Lost(Exception):
    """The answers' transaction was rolled back or committed part-way."""


def _counted(spec: JobSpec, outcome: str, started: float) -> None:
    """Count one job's attempt, timed from the start of the batch it ran in."""
    metrics.job_attempt(spec.job_type, outcome, time.monotonic() - started, delivers=spec.delivers)


def _alone(spec: JobSpec, way: Together, entry: tuple[Pair, Any, Any], started: float) -> AfterCommit | None | bool:
    """One answer and its success in a commit of their own; False when that failed (its attempt then
    records the failure)."""
    pair, item, answer = entry
    try:
        after = way.apply(item, answer)
        succeeded([pair])
        commit_keeping_loaded()
    except Exception as exc:  # the boundary of a job: its failure is recorded
        trace = traceback.format_exc()
        db.session.rollback()
        outcome = attempt_failed(*pair, spec, exc, allow_retry=True, fields=log_fields(*pair), trace=trace)
        _counted(spec, outcome, started)
        return False
    return after
