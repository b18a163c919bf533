"""Row 1: `POST /api/shar/workflows/<name>/launch` (202) mean latency vs `/healthz`, SHAR at 2 s a call.

    .venv/bin/python -m bench.launch_latency [--size tiny|default]

wrk with 16 connections for 10 s on /healthz (the baseline), then on the launch. The
engine answers each call after 2 s, which an async launch (202) must not wait for.
Goal: launch mean ≤ 3× healthz mean.

Also the CPU one request costs (`Stack.cpu_seconds` around each wrk run, divided by its
requests) in the web processes, PostgreSQL (this database's backends) and Redis, and that
launch ÷ /healthz ratio (goal ≤ 3×). The consumers are shown apart and not in that ratio:
during the launch run the instance consumer takes the queued launches (one worker, each held
2 s by the engine), work of the launch job, not of the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from bench.stack import Load, Stack, create_workflow, note, result, running_stack, size_parser, wrk

REQUEST = ("web", "postgres", "redis-server")  # the processes that serve the request itself


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    seconds = {"tiny": 2, "default": 10, "large": 30}[args.size]
    with running_stack(latency_ms=0) as stack:
        create_workflow(stack)
        stack.set_latency(2000)
        health, health_cpu, health_split = _measured(
            stack, seconds, lambda: wrk(f"{stack.url}/healthz", seconds=seconds)
        )
        launch, launch_cpu, launch_split = _measured(
            stack,
            seconds,
            lambda: wrk(
                f"{stack.url}/api/shar/workflows/Bench/launch",
                seconds=seconds,
                method="POST",
                headers={**stack.auth, "Content-Type": "application/json"},
                body=json.dumps({"variables": {"amount": 5}}),
                expect=202,
            ),
        )
        # Both ratios depend on how wrk's connections landed on gunicorn's workers (all on one: one core).
        note(f"connections per web worker: healthz {health_split}, launch {launch_split}")
        note(f"healthz: {health.rate:.0f} req/s, mean {health.mean_ms:.1f} ms, p99 {health.p99_ms:.1f} ms")
        note(
            f"launch:  {launch.rate:.0f} req/s, mean {launch.mean_ms:.1f} ms, p99 {launch.p99_ms:.1f} ms, "
            f"{launch.errors} errors"
        )
        health_ms, launch_ms = _request_cpu(health_cpu), _request_cpu(launch_cpu)
        note(f"CPU ms per request, healthz: {_parts(health_cpu)}")
        note(f"CPU ms per request, launch:  {_parts(launch_cpu)}")
        note(
            f"CPU per request (web + PostgreSQL + Redis, consumers apart): healthz {health_ms:.2f} ms, "
            f"launch {launch_ms:.2f} ms, ratio {launch_ms / health_ms:.2f} (goal <= 3x)"
        )
        result(
            "launch (202) mean latency, SHAR at 2 s",
            f"{launch.mean_ms:.1f} ms (p99 {launch.p99_ms:.0f} ms)",
            launch.mean_ms / health.mean_ms,
            f"/healthz mean {health.mean_ms:.1f} ms",
            "<= 3x",
        )
        result(
            "launch (202) CPU per request (web, PostgreSQL, Redis)",
            f"{launch_ms:.2f} ms",
            launch_ms / health_ms,
            f"/healthz {health_ms:.2f} ms",
            "<= 3x",
        )


def _measured(stack: Stack, seconds: float, run: Callable[[], Load]) -> tuple[Load, dict[str, float], list[int]]:
    """The load, the CPU ms per request it cost each process group, and its connections per web
    worker half-way through."""
    split: list[int] = []
    half_way = threading.Timer(seconds / 2, lambda: split.extend(stack.web_split()))
    before = stack.cpu_seconds()
    half_way.start()
    load = run()
    after = stack.cpu_seconds()
    half_way.join()
    count = load.requests + 1  # and wrk()'s one checking request
    return load, {name: (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}, split


def _request_cpu(spent: dict[str, float]) -> float:
    return sum(spent.get(name, 0.0) for name in REQUEST)


def _parts(spent: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(spent.items(), key=lambda i: -i[1]) if ms >= 0.005)


if __name__ == "__main__":
    main()
