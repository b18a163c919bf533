"""Soak: N launches through the whole pipeline on PostgreSQL + Redis, under fire.

    python -m bench.soak --launches 1000 --outage 300   # the full soak (documented in docs/reliability.md)
    python -m bench.soak --launches 40 --outage 10 --json  # the small one the test suite runs

Each launch goes service -> SQL job -> Redis/Huey -> consumer -> sharlite (launch), then the
waiting task is completed by a complete_task job, whose sync (or the scheduler's periodic sync)
brings the row to `completed`. Meanwhile sharlite answers 5 % of API calls with 500, the
consumer of the instance queue is SIGKILLed (and started again), the private Redis
server is stopped and started again (losing what it held: the reconciler re-queues it), and,
with --outage S, the engine process is SIGKILLed half-way for S seconds while launches and
completions go on (its work is held, then released when it answers again).

At the end: every row must be completed (0 lost), sharlite must hold exactly one instance per
launch (0 duplicated: launches are told apart by their variable `n`), every row must equal
the engine's instance (status, id), and each instance must have exactly one completion notice.

Needs PostgreSQL (SHARBOARD_TEST_PG, default postgresql://postgres@127.0.0.1:5432/postgres)
and `redis-server` on the PATH; a private Redis is started on a free port (never 6379).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.databases import postgres_database
from tests.support.servers import free_port, wait_until
from tests.support.stack import REPO, PrivateRedis, Processes, build_app, unique_queues

BPMN = REPO / "tests" / "fixtures" / "bpmn" / "user_task.bpmn"


@dataclass
class SoakResult:
    launches: int
    seconds: float = 0.0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    untracked_in_shar: int = 0
    mismatched: int = 0
    unsettled: int = 0
    notices_not_one: int = 0
    shar_errors_injected: int = 0
    launch_attempts_interrupted: int = 0
    redis_restarts: int = 0
    consumers_killed: int = 0
    outage_seconds: float = 0.0
    launched_during_outage: int = 0
    held_at_most: int = 0
    completions_asked_again: int = 0
    launches_retried: int = 0
    settled_after_outage_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.untracked_in_shar
            or self.mismatched
            or self.notices_not_one
            or self.failed
        )


def run_soak(
    launches: int = 1000,
    *,
    error_rate: float = 0.05,
    workers: int = 2,
    timeout: float = 280.0,
    say: Any = print,
    outage: float = 0.0,
) -> SoakResult:
    from sqlalchemy import func, select

    from app.core.errors import Conflict, NotFound
    from app.core.extensions import db
    from app.models import JobAttempt, JobRecord, Notification, WorkflowInstance
    from app.services.failed_jobs import retry_instance
    from app.services.instances import complete_task
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow

    result = SoakResult(launches)
    tmp = Path(tempfile.mkdtemp(prefix="sharboard-soak-"))
    (tmp / "logs").mkdir()
    database = ExitStack()
    database_url = database.enter_context(postgres_database())
    redis = PrivateRedis(free_port(), tmp)
    engine_port = free_port()
    settings = {
        "instance_dir": str(tmp / "instance"),
        "database_url": database_url,
        "redis_url": redis.url,
        **unique_queues(),
        "shar_base_url": f"http://127.0.0.1:{engine_port}",
        "shar_timeout": 5.0,
        "time_scale": 0.01,
        "secret_key": "soak",
        "mail_enabled": False,
        "reconcile_interval": 0.5,
        "log_level": "WARNING",
        "shar_sync_interval": 10,
        "shar_sync_batch_size": 500,
        "shar_sync_batch_delay": 0.0,
        "outage_probe_interval": 1.0,
    }
    processes = Processes(settings, tmp / "logs")
    engine_url = settings["shar_base_url"]
    started = time.monotonic()

    def start_engine() -> None:
        processes.start_engine(tmp / "sharlite.db", engine_port, name="sharlite")
        processes.wait_answering(f"{engine_url}/health", timeout=30)

    try:
        redis.start()
        start_engine()
        app = build_app(**settings)
        ctx = app.app_context()
        ctx.push()
        from app.models import User

        user = User(email="soak@example.com", name="soak", role="user")
        user.set_password("soak-password-1")
        db.session.add(user)
        db.session.commit()

        processes.start_consumers(workers)
        processes.start_scheduler(0.2)
        workflow = create_workflow("Soak", BPMN.read_text(), actor=user).workflow
        wait_until(lambda: _fresh(db, workflow).status == "active", timeout=60, what="the workflow to become active")
        httpx.put(f"{engine_url}/_sharlite/faults", json={"error_rate": error_rate})
        database_name = database_url.rsplit("/", 1)[1]
        say(f"soak: {launches} launches, {error_rate:.0%} SHAR errors, PostgreSQL {database_name}, redis :{redis.port}")

        instance_queue = settings["shar_instance_queue"]
        ids: list[str] = []
        completing: dict[str, int] = {}  # instance id -> the id of its complete_task job
        kill_at, redis_at = launches // 3, (2 * launches) // 3
        outage_at, outage_began, back_at = (launches // 2 if outage else -1), 0.0, 0.0
        deadline = time.monotonic() + timeout + outage

        def held_now() -> int:
            count = db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.state == "held"))
            result.held_at_most = max(result.held_at_most, count or 0)
            return count or 0

        def engine_back() -> float:
            """Start the engine again after the outage (its SQLite file keeps what it held)."""
            time.sleep(max(outage - (time.monotonic() - outage_began), 0.0))
            # On a busy machine the consumers may not have taken any of the outage's work yet: the
            # engine stays down until some of it is held, so the outage is met whatever the load.
            wait_until(lambda: held_now() > 0, timeout=60, interval=0.2, what="the outage's work to be held")
            start_engine()
            httpx.put(f"{engine_url}/_sharlite/faults", json={"error_rate": error_rate})
            say(
                f"soak: the engine is back after {time.monotonic() - outage_began:.0f} s; "
                f"{result.held_at_most} jobs were held at most"
            )
            return time.monotonic()

        def retry_failed_launches() -> None:
            """Retry each launch that failed for good (every try, or the lookup before a re-send, met an
            injected 500), as its owner would with the page's Retry: it looks in SHAR first, never
            launching twice (the verdict counts duplicates)."""
            failed = db.session.scalars(
                select(WorkflowInstance.id).where(
                    WorkflowInstance.status == "failed", WorkflowInstance.shar_instance_id.is_(None)
                )
            ).all()
            for instance_id in failed:
                try:
                    retry_instance(instance_id, actor=user)
                except (Conflict, NotFound):
                    continue  # its job is not failed yet (the row is marked first): the next round retries it
                result.launches_retried += 1

        def act_as_users() -> None:
            """What the launches' users do on the pages: press Retry on a launch that failed for good, ask
            for each running instance's completion once, and again when that job failed for good (every
            try met an injected 500)."""
            db.session.expire_all()
            retry_failed_launches()
            running = db.session.scalars(
                select(WorkflowInstance.id).where(WorkflowInstance.status == "running", WorkflowInstance.id.in_(ids))
            ).all()
            failed = set(
                db.session.scalars(
                    select(JobRecord.id).where(JobRecord.id.in_(completing.values()), JobRecord.state == "failed")
                ).all()
            )
            for instance_id in running:
                asked = completing.get(instance_id)
                if asked is None or asked in failed:
                    result.completions_asked_again += asked is not None
                    completing[instance_id] = complete_task(instance_id, actor=user).id

        for n in range(launches):
            ids.append(launch_instance("Soak", {"n": n}, actor=user).instance.id)
            if n == kill_at:  # a consumer dies mid-run, as a crash would; it is started again
                wait_until(
                    lambda: db.session.scalar(
                        select(func.count())
                        .select_from(JobRecord)
                        .where(JobRecord.job_type == "launch_instance", JobRecord.state != "queued")
                    ),
                    timeout=60,
                    interval=0.05,
                    what="the launches to be under way",
                )
                processes.kill(f"consumer:{instance_queue}")
                result.consumers_killed += 1
                processes.start_consumer(instance_queue, workers)
            if n == redis_at:  # Redis goes away and comes back empty
                act_as_users()
                redis.stop()
                launch_instance("Soak", {"n": -1}, actor=user)  # placeholder made while Redis is down
                redis.start()
                result.redis_restarts += 1
            if n == outage_at:  # the engine dies: SHAR unreachable while launches and completions go on
                act_as_users()
                processes.kill("sharlite")
                outage_began = time.monotonic()
                result.outage_seconds = outage
                say(f"soak: the engine is killed for {outage:.0f} s")
            if outage_began and not back_at:
                result.launched_during_outage += 1
                if n % 20 == 0:
                    held_now()
                if time.monotonic() - outage_began >= outage:
                    back_at = engine_back()
            if n % 20 == 19:
                act_as_users()
        if outage_began and not back_at:
            back_at = engine_back()
        # The launch made while Redis was down is a launch too.
        ids.extend(
            db.session.scalars(
                select(WorkflowInstance.id).where(WorkflowInstance.variables["n"].as_integer() == -1)
            ).all()
        )
        result.launches = len(ids)

        def settled() -> bool:
            act_as_users()
            open_jobs = db.session.scalar(
                select(func.count())
                .select_from(JobRecord)
                .where(JobRecord.state.in_(("queued", "running", "retrying", "held")))
            )
            done = db.session.scalar(
                select(func.count())
                .select_from(WorkflowInstance)
                .where(WorkflowInstance.status.in_(("completed", "failed")))
            )
            return done == len(ids) and open_jobs == 0

        last_report = 0.0

        def settled_or_report() -> bool:
            nonlocal last_report
            if settled():
                return True
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                counts = Counter(db.session.scalars(select(WorkflowInstance.status)).all())
                say(f"  {time.monotonic() - started:5.0f} s  {dict(counts)}")
            return False

        try:
            wait_until(
                settled_or_report,
                timeout=max(deadline - time.monotonic(), 0.0),
                interval=0.5,
                what="every launch to settle",
            )
        except AssertionError:
            result.problems.append("not settled before the deadline")
        result.seconds = round(time.monotonic() - started, 1)
        if back_at:
            result.settled_after_outage_seconds = round(time.monotonic() - back_at, 1)

        # -- the verdict ---------------------------------------------------------------
        httpx.put(f"{engine_url}/_sharlite/faults", json={"error_rate": 0.0})
        log = httpx.get(f"{engine_url}/_sharlite/requests").json()
        result.shar_errors_injected = sum(1 for r in log if r["status"] == 500)
        shar = {i["id"]: i for i in httpx.get(f"{engine_url}/api/v1/instances").json()}
        db.session.expire_all()
        rows = db.session.scalars(select(WorkflowInstance)).all()
        by_status = Counter(r.status for r in rows)
        result.completed, result.failed = by_status["completed"], by_status["failed"]
        result.lost = len(ids) - result.completed - result.failed
        per_launch = Counter(i["variables"].get("n") for i in shar.values() if i["workflow_name"] == "Soak")
        result.duplicated = sum(count - 1 for count in per_launch.values() if count > 1)
        tracked = {r.shar_instance_id for r in rows if r.shar_instance_id}
        result.untracked_in_shar = len(set(shar) - tracked)
        for row in rows:
            remote = shar.get(row.shar_instance_id or "")
            if row.status not in ("completed", "failed"):
                result.unsettled += 1  # still on its way (counted as lost above): not a mismatch
                continue
            if row.status == "failed" and remote is None:
                continue
            if remote is None or remote["status"] != row.status:
                result.mismatched += 1
                result.problems.append(f"{row.id}: row {row.status}, SHAR {remote and remote['status']}")
        notices = Counter(
            db.session.scalars(select(Notification.target_id).where(Notification.kind == "instance_completed")).all()
        )
        result.notices_not_one = sum(1 for r in rows if r.status == "completed" and notices[r.id] != 1)
        result.launch_attempts_interrupted = db.session.scalar(
            select(func.count()).select_from(JobAttempt).where(JobAttempt.outcome == "interrupted")
        )
        if result.failed:
            result.problems.extend(f"{r.id} failed: {r.error}" for r in rows if r.status == "failed")
        db.session.remove()
        ctx.pop()
        return result
    finally:
        processes.stop()
        redis.stop()
        database.close()  # drops it
        say(f"logs: {tmp / 'logs'}")


def _fresh(db: Any, row: Any) -> Any:
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=1000)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2, help="worker processes per queue consumer")
    parser.add_argument("--timeout", type=float, default=280.0, help="seconds allowed to settle")
    parser.add_argument("--outage", type=float, default=0.0, help="seconds the engine is killed half-way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_soak(
        args.launches,
        error_rate=args.error_rate,
        workers=args.workers,
        timeout=args.timeout,
        outage=args.outage,
        say=lambda m: print(m, file=sys.stderr),
    )
    summary = {**asdict(result), "ok": result.ok}
    summary["problems"] = summary["problems"][:20]
    print(json.dumps(summary, indent=2))
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
