"""Row 9: the sync consumer's memory (all its processes) over N syncs, SHAR at 20 ms a call.

    .venv/bin/python -m bench.sync_memory [--size tiny|default|large] [--workers 2]

A first sync of 100 instances warms the consumer up; its memory (PSS of all its processes) is read, N
instances are synced by the periodic sync, and it is read again. Default N = 5,000
(about 2 minutes); `--size large` is the goal's 20,000 (about 7 minutes).
Goal: grows < 50 MiB at 20,000. The ratio is the time against N × latency ÷ workers.
"""

from __future__ import annotations

from bench.periodic_sync import LATENCY_MS, sync_all
from bench.stack import create_workflow, note, result, running_stack, size_parser


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--workers", type=int, default=2, help="Huey workers on the sync consumer")
    args = parser.parse_args()
    warm, count = {"tiny": (20, 40), "default": (100, 5_000), "large": (100, 20_000)}[args.size]
    with running_stack(latency_ms=LATENCY_MS, workers=args.workers, consumers=("sync",)) as stack:
        workflow_id = create_workflow(stack)
        sync_all(stack, workflow_id, warm)
        before = stack.memory_mib("consumer:sync")
        seconds = sync_all(stack, workflow_id, count)
        after = stack.memory_mib("consumer:sync")
        ideal = count * LATENCY_MS / 1000 / args.workers
        note(
            f"sync consumer PSS (all its processes): {before:.1f} MiB after warm-up, {after:.1f} MiB after "
            f"{count:,} syncs in {seconds:.1f} s"
        )
        result(
            f"sync consumer memory over {count:,} syncs",
            f"+{after - before:.1f} MiB ({before:.0f} -> {after:.0f})",
            seconds / ideal,
            f"time vs N x latency / workers = {ideal:.1f} s",
            "< 50 MiB at 20,000",
        )


if __name__ == "__main__":
    main()
