"""Row 8: a periodic sync of N running instances, SHAR at 20 ms a call, vs N × latency ÷ workers.

    .venv/bin/python -m bench.periodic_sync [--size tiny|default|large] [--workers 2] [--count N ...]

Seeds N running instances in the engine and in PostgreSQL, runs `flask shar queue sync`,
and times until every instance has been synced. Default 2,000; `--size large` runs 5,000
and 20,000, which takes well over 3 minutes (about 10 at the fixed 50 syncs/s on a quiet
machine, 45 on a loaded one).
Goal: ≤ 1.5× the ideal time, and 20,000 measured.
"""

from __future__ import annotations

from bench.stack import (
    Stack,
    clone_engine_instances,
    create_workflow,
    note,
    result,
    running_stack,
    seed_instances,
    size_parser,
)
from tests.support.servers import wait_until

LATENCY_MS = 20


def sync_all(stack: Stack, workflow_id: int, count: int) -> float:
    """Bring the running instances to `count` (all unsynced), trigger the periodic sync; seconds until all synced."""
    have = stack.scalar("SELECT count(*) FROM workflow_instances")
    if count > have:
        seed_instances(stack, workflow_id, count - have, shar_ids=clone_engine_instances(stack, count - have))
    stack.sql("UPDATE workflow_instances SET last_synced_at = NULL")
    stack.flask("shar", "queue", "sync")
    _wait_for_all_synced(stack, count)
    # From the periodic sync job's creation to the last instance synced, both stamped by the app.
    return float(
        stack.scalar(
            "SELECT extract(epoch FROM (SELECT max(last_synced_at) FROM workflow_instances) -"
            " (SELECT max(created_at) FROM job_records WHERE job_type = 'periodic_sync'))"
        )
    )


def _wait_for_all_synced(stack: Stack, count: int, stall: float = 120.0) -> None:
    """Until no instance is left unsynced; an error naming the job states if nothing moves for `stall` s."""
    left = count

    def moved() -> bool:
        nonlocal left
        now_left = stack.scalar("SELECT count(*) FROM workflow_instances WHERE last_synced_at IS NULL")
        fewer, left = now_left < left, min(now_left, left)
        return fewer

    while left:
        try:
            wait_until(moved, timeout=stall, interval=0.5, what="one more instance synced")
        except AssertionError:
            states = stack.sql(
                "SELECT job_type, state, count(*) FROM job_records WHERE job_type LIKE '%%sync%%'"
                " GROUP BY 1, 2 ORDER BY 1, 2"
            )
            raise RuntimeError(
                f"sync stalled: {left:,} of {count:,} instances not synced and nothing moved for "
                f"{stall:.0f} s; sync jobs by state: {states} (see the consumer's log)"
            ) from None


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--workers", type=int, default=2, help="Huey workers on the sync consumer")
    parser.add_argument("--count", type=int, nargs="*", help="instance counts to run (overrides --size)")
    args = parser.parse_args()
    counts = args.count or {"tiny": [40], "default": [2_000], "large": [5_000, 20_000]}[args.size]
    with running_stack(latency_ms=LATENCY_MS, workers=args.workers, consumers=("sync",)) as stack:
        workflow_id = create_workflow(stack)
        for count in counts:
            seconds = sync_all(stack, workflow_id, count)
            ideal = count * LATENCY_MS / 1000 / args.workers
            note(f"{count:,} instances synced in {seconds:.1f} s = {count / seconds:.0f}/s (ideal {ideal:.1f} s)")
            result(
                f"periodic sync of {count:,} running instances, SHAR at {LATENCY_MS} ms, {args.workers} workers",
                f"{seconds:.1f} s",
                seconds / ideal,
                f"N x latency / workers = {ideal:.1f} s",
                "<= 1.5x",
            )


if __name__ == "__main__":
    main()
