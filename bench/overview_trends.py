"""Issue 12: the overview with its trend charts vs without them, at 200,000 instances.

    .venv/bin/python -m bench.overview_trends [--size tiny|default|large]

Seeds 200,000 instances over the last 7 days (one every 3 s; 80 % completed with durations,
10 % failed, 10 % running) and a week of queue samples, then measures the overview as an admin
with wrk (4 connections, 8 s each): without charts (`/?window=off`, the baseline), with the
24-hour charts (`/`, the default) and with the 7-day ones (`/?window=7d`).
The first read of each window, which computes the trend, is timed alone first (a process then
shows it for 15 s, 24 h, or 60 s, 7 days). Goal: with charts ≤ 2× without.
"""

from __future__ import annotations

import time

from bench.stack import create_workflow, note, result, running_stack, size_parser, wrk


def seed(stack, workflow_id: int, count: int) -> None:  # type: ignore[no-untyped-def]
    spacing = max(7 * 24 * 3600 // count, 1)
    stack.sql(
        "INSERT INTO workflow_instances (id, workflow_id, status, variables, current_activities, created_by,"
        " launch_requests, created_at, updated_at, launched_at, completed_at, duration_seconds, progressed_at) "
        "SELECT gen_random_uuid()::text, %(wf)s,"
        " CASE WHEN n %% 10 = 0 THEN 'failed' WHEN n %% 10 = 1 THEN 'running' ELSE 'completed' END,"
        " '{}'::jsonb, '[]'::jsonb, %(user)s, 1, now() - make_interval(secs => n * %(spacing)s),"
        " now() - make_interval(secs => n * %(spacing)s), now() - make_interval(secs => n * %(spacing)s),"
        " CASE WHEN n %% 10 = 1 THEN NULL ELSE now() - make_interval(secs => n * %(spacing)s - n %% 300) END,"
        " CASE WHEN n %% 10 > 1 THEN n %% 300 END, now() "
        "FROM generate_series(1, %(count)s) AS n",
        {"wf": workflow_id, "user": stack.admin_id, "count": count, "spacing": spacing},
    )
    stack.sql(
        "INSERT INTO queue_samples (sampled_at, queue, open_jobs, failed_jobs) "
        "SELECT now() - make_interval(mins => m), q, (m * 7) %% 50, m %% 20 "
        "FROM generate_series(0, 7 * 24 * 60) AS m, unnest(%(queues)s::text[]) AS q",
        {"queues": list(stack.queues.values())},
    )
    stack.sql("ANALYZE workflow_instances")
    stack.sql("ANALYZE queue_samples")


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    count, seconds = {"tiny": (2_000, 2), "default": (200_000, 8), "large": (1_000_000, 15)}[args.size]
    with running_stack() as stack:
        workflow_id = create_workflow(stack)
        seed(stack, workflow_id, count)
        web = stack.web()
        headers = {"Cookie": stack.cookie_header(web)}
        # A trend is computed at most every 15 s (24 h) or 60 s (7 days) per web process: the first
        # read pays for it. Timed alone, cold, before the load runs.
        for window in ("24h", "7d"):
            started = time.perf_counter()
            web.get(f"/?window={window}").raise_for_status()
            note(
                f"overview, {window} charts, first read (computed, not cached): "
                f"{1000 * (time.perf_counter() - started):.1f} ms"
            )
        without = wrk(f"{stack.url}/?window=off", seconds=seconds, connections=4, headers=headers)
        day = wrk(f"{stack.url}/", seconds=seconds, connections=4, headers=headers)
        week = wrk(f"{stack.url}/?window=7d", seconds=seconds, connections=4, headers=headers)
        for label, load in (("without charts", without), ("24-hour charts", day), ("7-day charts", week)):
            note(f"overview, {label}: mean {load.mean_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.rate:.0f} req/s")
        for label, load in (("24-hour", day), ("7-day", week)):
            result(
                f"overview with {label} charts at {count:,} instances",
                f"{load.mean_ms:.1f} ms mean",
                load.mean_ms / without.mean_ms,
                f"without charts {without.mean_ms:.1f} ms",
                "<= 2x",
            )


if __name__ == "__main__":
    main()
