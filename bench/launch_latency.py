"""Row 1: `POST /api/shar/workflows/<name>/launch` (202) mean latency vs `/healthz`, SHAR at 2 s a call.

    .venv/bin/python -m bench.launch_latency [--size tiny|default]

wrk with 16 connections for 10 s on /healthz (the baseline), then on the launch. The
engine answers each call after 2 s, which an async launch (202) must not wait for.
Goal: launch mean ≤ 2× healthz mean.
"""

from __future__ import annotations

import json

from bench.stack import create_workflow, note, result, running_stack, size_parser, wrk


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    seconds = {"tiny": 2, "default": 10, "large": 30}[args.size]
    with running_stack(latency_ms=0) as stack:
        create_workflow(stack)
        stack.set_latency(2000)
        health = wrk(f"{stack.url}/healthz", seconds=seconds)
        launch = wrk(
            f"{stack.url}/api/shar/workflows/Bench/launch",
            seconds=seconds,
            method="POST",
            headers={**stack.auth, "Content-Type": "application/json"},
            body=json.dumps({"variables": {"amount": 5}}),
            expect=202,
        )
        note(f"healthz: {health.rate:.0f} req/s, mean {health.mean_ms:.1f} ms, p99 {health.p99_ms:.1f} ms")
        note(
            f"launch:  {launch.rate:.0f} req/s, mean {launch.mean_ms:.1f} ms, p99 {launch.p99_ms:.1f} ms, "
            f"{launch.errors} errors"
        )
        result(
            "launch (202) mean latency, SHAR at 2 s",
            f"{launch.mean_ms:.1f} ms (p99 {launch.p99_ms:.0f} ms)",
            launch.mean_ms / health.mean_ms,
            f"/healthz mean {health.mean_ms:.1f} ms",
            "<= 2x",
        )


if __name__ == "__main__":
    main()
