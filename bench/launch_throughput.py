"""Row 2: launches end to end (API → queue → engine → `running`) vs the engine's own launch rate.

    .venv/bin/python -m bench.launch_throughput [--size tiny|default] [--workers N] [--latency-ms MS]

First N/6 launches to the engine and N/6 through the API, not measured (both are measured warm).
Baseline: N launches posted straight to the engine, 16 at a time, before and again after the
end-to-end stretch (the mean of the two rates: on this machine kind the engine's rate alone drifted
by ±25 % between runs minutes apart). Between them, N launches through the API, 16 at a time, timed
from the first request until every instance reads `running`.
Goal (issue 21): end-to-end rate ≥ 0.4× the engine's.

Both stretches also print the CPU each part of the stack spent per launch (web, each consumer,
the engine, PostgreSQL, Redis): the machine's cores divided by the sum is the most launches a
second the whole stack could make here, whatever the concurrency.
"""

from __future__ import annotations

import os
import time

from app.cli.stack import default_workers
from bench.stack import (
    Stack,
    create_workflow,
    fire,
    note,
    result,
    running_stack,
    size_parser,
)
from tests.support.servers import wait_until


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(instance_queue=True),
        help="Huey workers per consumer (default: what flask shar up runs for the instance queue on this machine)",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="the engine answers each call after this long (a remote SHAR); the baseline waits for it too",
    )
    args = parser.parse_args()
    count = {"tiny": 30, "default": 600, "large": 3000}[args.size]
    with running_stack(workers=args.workers) as stack:
        create_workflow(stack)
        stack.set_latency(args.latency_ms)
        url = f"{stack.url}/api/shar/workflows/Bench/launch"
        warm = _warm(stack, url, count // 6)
        before = stack.cpu_seconds()
        engine = _engine_alone(stack, count)
        before = _cpu_per_launch(stack, before, count, "engine alone")
        posted = fire([lambda c: c.post(url, json={"variables": {"n": 1}}, headers=stack.auth)] * count)
        began = time.perf_counter()
        wait_until(
            lambda: stack.scalar("SELECT count(*) FROM workflow_instances WHERE status = 'running'") >= warm + count,
            timeout=600,
            interval=0.05,  # the end is read to within 50 ms (at 0.2 s it overstated 3-4 s by up to 5 %)
            what=f"{count} instances running",
        )
        waited = time.perf_counter() - began
        total = posted.seconds + waited
        _cpu_per_launch(stack, before, count, "end to end")
        note(
            f"API accepted {count} in {posted.seconds:.2f} s ({posted.errors} errors); all running after {total:.2f} s"
        )
        again = _engine_alone(stack, count)
        engine_rate = (engine + again) / 2
        rate = count / total
        result(
            f"launches end to end ({args.workers} worker(s), SHAR at {args.latency_ms} ms)",
            f"{rate:.0f} launches/s",
            rate / engine_rate,
            f"engine alone {engine_rate:.0f}/s (before {engine:.0f}/s, after {again:.0f}/s)",
            ">= 0.4x",
        )


def _warm(stack: Stack, url: str, count: int) -> int:
    """`count` launches straight to the engine and `count` through the API, not measured, all running
    before the measured stretches begin: both are measured warm (the engine's first stretch ran 10-30 %
    slower than its second; each consumer worker's first job costs ~20 ms more than the next)."""
    _engine_alone(stack, count)
    fire([lambda c: c.post(url, json={"variables": {"n": 1}}, headers=stack.auth)] * count)
    wait_until(
        lambda: stack.scalar("SELECT count(*) FROM workflow_instances WHERE status = 'running'") >= count,
        timeout=120,
        interval=0.05,
        what=f"{count} warm-up instances running",
    )
    return count


def _engine_alone(stack: Stack, count: int) -> float:
    """`count` launches posted straight to the engine, 16 at a time: its rate."""
    engine = fire(
        [lambda c: c.post(f"{stack.engine_url}/api/v1/workflows/Bench/instances", json={"variables": {"n": 1}})] * count
    )
    note(f"engine alone: {count} launches in {engine.seconds:.2f} s = {engine.rate:.0f}/s ({engine.errors} errors)")
    return engine.rate


def _cpu_per_launch(stack: Stack, before: dict[str, float], count: int, what: str) -> dict[str, float]:
    after = stack.cpu_seconds()
    spent = {name: (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}
    parts = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(spent.items(), key=lambda i: -i[1]) if ms >= 0.05)
    total = sum(spent.values())
    cores = os.cpu_count() or 1
    note(
        f"{what}: CPU ms per launch: {parts}; total {total:.1f} ms, so at most {cores * 1000 / total:.0f}/s"
        f" on {cores} cores"
    )
    return after


if __name__ == "__main__":
    main()
