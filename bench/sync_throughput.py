"""Sync throughput: instances synced per second by real consumers, with 0 ms and 50 ms SHAR latency.

    .venv/bin/python bench/sync_throughput.py [--instances 60] [--workers 2]

Needs Redis on 127.0.0.1:6379. Starts the local engine and consumer processes, launches
instances, completes them in the engine, then times one periodic sync until every
instance reads `completed`. Prints each run and its ratio to the 0 ms baseline.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.extensions import db  # noqa: E402
from app.models import WorkflowInstance  # noqa: E402
from app.services.instances import launch_instance  # noqa: E402
from app.services.sync import sync_all_running  # noqa: E402
from app.services.workflows import create_workflow  # noqa: E402
from app.sharlite.server import EngineServer  # noqa: E402
from tests.support.factories import bpmn  # noqa: E402
from tests.support.stack import Processes, build_app  # noqa: E402


def run(latency_ms: int, instances: int, workers: int) -> float:
    tmp = Path(tempfile.mkdtemp())
    engine = EngineServer(str(tmp / "engine.db")).start()
    prefix = f"b{uuid.uuid4().hex[:6]}-"
    settings = {"instance_dir": str(tmp), "database_url": f"sqlite:///{tmp}/bench.db",
                "redis_url": "redis://127.0.0.1:6379/0", "shar_base_url": engine.url, "secret_key": "bench",
                "shar_workflow_queue": prefix + "w", "shar_instance_queue": prefix + "i", "shar_sync_queue": prefix + "s",
                "shar_sync_batch_size": 20, "shar_sync_batch_delay": 0.0, "log_level": "WARNING",
                "shar_log_level": "WARNING", "shar_notifications_enabled": False}
    app = build_app(**settings)
    (tmp / "logs").mkdir()
    procs = Processes(settings, tmp / "logs")
    try:
        with app.app_context():
            create_workflow("Bench", bpmn("user_task"), async_=False)
            ids = [launch_instance("Bench", {"n": n}, async_=False).id for n in range(instances)]
            for instance_id in ids:
                httpx.post(f"{engine.url}/api/v1/instances/{db.session.get(WorkflowInstance, instance_id).shar_instance_id}/complete")
            engine.set_faults(latency_ms=latency_ms)
            procs.start_consumers(workers=workers)
            time.sleep(3)  # consumers up
            started = time.perf_counter()
            sync_all_running()
            while True:
                db.session.expire_all()
                left = db.session.query(WorkflowInstance).filter_by(status="running").count()
                if not left:
                    break
                time.sleep(0.05)
            return time.perf_counter() - started
    finally:
        procs.stop()
        engine.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    baseline = run(0, args.instances, args.workers)
    print(f"{args.instances} instances, {args.workers} sync workers")
    print(f"SHAR latency   0 ms: {baseline:6.2f} s  {args.instances / baseline:7.1f} syncs/s  ratio 1.00 (baseline)")
    for latency in (50,):
        elapsed = run(latency, args.instances, args.workers)
        print(f"SHAR latency {latency:3d} ms: {elapsed:6.2f} s  {args.instances / elapsed:7.1f} syncs/s  "
              f"ratio {elapsed / baseline:5.2f}")


if __name__ == "__main__":
    main()
