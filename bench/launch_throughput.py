"""Row 2: launches end to end (API → queue → engine → `running`) vs the engine's own launch rate.

    .venv/bin/python bench/launch_throughput.py [--size tiny|default] [--workers 1]

Baseline: N launches posted straight to the engine, 16 at a time. Then N launches through
the API, 16 at a time, timed from the first request until every instance reads `running`.
Goal: end-to-end rate ≥ 0.5× the engine's.
"""
from __future__ import annotations

from stack import (
    create_workflow,
    fire,
    note,
    result,
    running_stack,
    size_parser,
    wait_until,
)


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--workers", type=int, default=1, help="Huey workers per consumer (flask shar up: 1)")
    args = parser.parse_args()
    count = {"tiny": 30, "default": 600, "large": 3000}[args.size]
    with running_stack(workers=args.workers) as stack:
        create_workflow(stack)
        engine = fire([lambda c: c.post(f"{stack.engine_url}/api/v1/workflows/Bench/instances",
                                        json={"variables": {"n": 1}})] * count)
        note(f"engine alone: {count} launches in {engine.seconds:.2f} s = {engine.rate:.0f}/s ({engine.errors} errors)")
        url = f"{stack.url}/api/shar/workflows/Bench/launch"
        posted = fire([lambda c: c.post(url, json={"variables": {"n": 1}}, headers=stack.auth)] * count)
        waited = wait_until(lambda: stack.scalar("SELECT count(*) FROM workflow_instances WHERE status = 'running'")
                            >= count, timeout=600, every=0.2, what=f"{count} instances running")
        total = posted.seconds + waited
        note(f"API accepted {count} in {posted.seconds:.2f} s ({posted.errors} errors); all running after {total:.2f} s")
        rate = count / total
        result(f"launches end to end ({args.workers} worker(s))", f"{rate:.0f} launches/s",
               rate / engine.rate, f"engine alone {engine.rate:.0f}/s", ">= 0.5x")


if __name__ == "__main__":
    main()
