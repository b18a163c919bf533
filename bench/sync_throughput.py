"""Sync throughput: instances synced per second by the real sync consumer, SHAR at 0 ms and at 50 ms.

    .venv/bin/python -m bench.sync_throughput [--size tiny|default] [--workers 2]

On the benchmark stack (PostgreSQL, Redis, sharlite): N running instances, one periodic
sync with the engine answering at once (the baseline), then one with 50 ms per call.
Prints each run and the 50 ms run's time as a ratio to the 0 ms run's.
"""

from __future__ import annotations

from bench.periodic_sync import sync_all
from bench.stack import create_workflow, note, result, running_stack, size_parser


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--workers", type=int, default=2, help="Huey workers on the sync consumer")
    args = parser.parse_args()
    count = {"tiny": 40, "default": 300, "large": 1_000}[args.size]
    with running_stack(workers=args.workers, consumers=("sync",)) as stack:
        workflow_id = create_workflow(stack)
        baseline = sync_all(stack, workflow_id, count)
        stack.set_latency(50)
        slow = sync_all(stack, workflow_id, count)
        note(
            f"{count} instances, {args.workers} sync workers: 0 ms {baseline:.1f} s ({count / baseline:.0f}/s), "
            f"50 ms {slow:.1f} s ({count / slow:.0f}/s)"
        )
        result(
            f"sync of {count} instances, SHAR at 50 ms",
            f"{count / slow:.0f} syncs/s",
            slow / baseline,
            f"SHAR at 0 ms {count / baseline:.0f} syncs/s",
            "none (context for row 8)",
        )


if __name__ == "__main__":
    main()
