"""Row 1: `POST /api/shar/workflows/<name>/launch` (202) mean latency vs `/healthz`, SHAR at 2 s a call.

    .venv/bin/python -m bench.launch_latency [--size tiny|default]

wrk with 16 connections on /healthz (the baseline) and on the launch, 10 s each, alternated in
rounds (`--rounds`, 5 by default: 2 s of one, then 2 s of the other, five times), so a drift of
this machine's speed falls on both figures alike; `--rounds 1` runs one after the other. The
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
from dataclasses import dataclass

from bench.stack import Load, Stack, create_workflow, note, result, running_stack, size_parser, wrk

REQUEST = ("web", "postgres", "redis-server")  # the processes that serve the request itself


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the two loads alternate this many times, each run for its share of the seconds (1: one after the other)",
    )
    args = parser.parse_args()
    seconds = {"tiny": 2, "default": 10, "large": 30}[args.size]
    rounds = 1 if args.size == "tiny" else max(1, args.rounds)
    with running_stack(latency_ms=0) as stack:
        create_workflow(stack)
        stack.set_latency(2000)
        health_url, launch_url = f"{stack.url}/healthz", f"{stack.url}/api/shar/workflows/Bench/launch"
        launch_headers = {**stack.auth, "Content-Type": "application/json"}
        healths, launches = [], []
        for _ in range(rounds):  # alternated, so the machine's drift falls on both alike
            healths.append(_measured(stack, seconds / rounds, lambda: wrk(health_url, seconds=seconds / rounds)))
            launches.append(
                _measured(
                    stack,
                    seconds / rounds,
                    lambda: wrk(
                        launch_url,
                        seconds=seconds / rounds,
                        method="POST",
                        headers=launch_headers,
                        body=json.dumps({"variables": {"amount": 5}}),
                        expect=202,
                    ),
                )
            )
        (health, health_cpu), (launch, launch_cpu) = _together(healths), _together(launches)
        # Both ratios depend on how wrk's connections landed on gunicorn's workers (all on one: one core).
        note(
            f"{rounds} rounds; connections per web worker: healthz {[m.split for m in healths]}, "
            f"launch {[m.split for m in launches]}"
        )
        note(
            "ratio per round (CPU): "
            + ", ".join(
                f"{_request_cpu(b.cpu) / _request_cpu(a.cpu):.2f}" for a, b in zip(healths, launches, strict=True)
            )
        )
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


@dataclass(frozen=True)
class _Measured:
    load: Load
    cpu: dict[str, float]  # CPU ms per request, by process group
    split: list[int]  # connections per web worker, half-way through


def _measured(stack: Stack, seconds: float, run: Callable[[], Load]) -> _Measured:
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
    return _Measured(load, {name: (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}, split)


def _together(rounds: list[_Measured]) -> tuple[Load, dict[str, float]]:
    """The rounds of one load as one: requests and seconds summed, the mean weighted by requests,
    the worst round's p99, CPU per request over all requests."""
    requests = sum(m.load.requests for m in rounds)
    load = Load(
        requests=requests,
        seconds=sum(m.load.seconds for m in rounds),
        mean_ms=sum(m.load.mean_ms * m.load.requests for m in rounds) / max(requests, 1),
        p99_ms=max(m.load.p99_ms for m in rounds),
        errors=sum(m.load.errors for m in rounds),
    )
    counts = [m.load.requests + 1 for m in rounds]
    names = {name for m in rounds for name in m.cpu}
    cpu = {
        name: sum(m.cpu.get(name, 0.0) * n for m, n in zip(rounds, counts, strict=True)) / sum(counts) for name in names
    }
    return load, cpu


def _request_cpu(spent: dict[str, float]) -> float:
    return sum(spent.get(name, 0.0) for name in REQUEST)


def _parts(spent: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(spent.items(), key=lambda i: -i[1]) if ms >= 0.005)


if __name__ == "__main__":
    main()
