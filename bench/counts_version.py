"""Issue 21 row 6: the version key of a diagram's polled counts at 200,000 instances of the version vs 200.

    .venv/bin/python -m bench.counts_version [--size tiny|default|large]

Seeds 200 running instances of one version (each waiting at an element), measures, seeds up to
200,000, measures again. Two figures at each size: the version read itself
(app.services.element_counts.element_counts_state, in this process, on the stack's PostgreSQL,
as an admin, who counts every instance), and the polled fragment `GET /workflows/NAME/_counts`
with the ETag of a first read (unchanged, 304), wrk, 16 connections. /healthz is measured at each
size too, for the load-adjusted ratio (a machine others share). Goal: each ~1x its time at 200.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import select

from app import create_app
from app.core.extensions import db
from app.models import User
from app.services.element_counts import element_counts_state
from bench.stack import ADMIN_EMAIL, create_workflow, note, result, running_stack, seed_instances, size_parser, wrk

NAME = "Bench"


def version_read_ms(repeats: int) -> float:
    """The median time of one version read (after a warm-up), in the current app context."""
    admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    for _ in range(20):
        element_counts_state(NAME, 1, actor=admin)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        element_counts_state(NAME, 1, actor=admin)
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()  # each read in its own transaction, as each request's
    return statistics.median(times)


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    small, large, seconds, repeats = {
        "tiny": (200, 2_000, 1, 50),
        "default": (200, 200_000, 8, 400),
        "large": (200, 1_000_000, 15, 1_000),
    }[args.size]
    with running_stack(consumers=()) as stack:
        workflow_id = create_workflow(stack, NAME)
        web = stack.web()
        cookie = stack.cookie_header(web)
        app = create_app(**stack.settings)
        path = f"/workflows/{NAME}/_counts?version=1"
        figures: dict[str, dict[int, float]] = {"version read (in process)": {}, f"fragment {path} (304)": {}}
        health: dict[int, float] = {}
        for rows in (small, large):
            seed_instances(stack, workflow_id, rows - stack.scalar("SELECT count(*) FROM workflow_instances"))
            with app.app_context():
                figures["version read (in process)"][rows] = version_read_ms(repeats)
                db.session.remove()
            health[rows] = wrk(f"{stack.url}/healthz", seconds=seconds).mean_ms
            etag = web.get(path, headers={"HX-Request": "true"}).headers["ETag"]
            poll = wrk(
                f"{stack.url}{path}",
                seconds=seconds,
                headers={"Cookie": cookie, "HX-Request": "true", "If-None-Match": etag},
                expect=304,
            )
            figures[f"fragment {path} (304)"][rows] = poll.mean_ms
            note(
                f"at {rows:,} instances: version read {figures['version read (in process)'][rows]:.2f} ms (median), "
                f"poll mean {poll.mean_ms:.1f} ms, p99 {poll.p99_ms:.1f} ms, {poll.rate:.0f} req/s; "
                f"/healthz {health[rows]:.1f} ms"
            )
        for label, by_rows in figures.items():
            adjusted = (by_rows[large] / health[large]) / (by_rows[small] / health[small])
            result(
                f"{label} at {large:,} instances of the version",
                f"{by_rows[large]:.2f} ms (load-adjusted ratio {adjusted:.2f})",
                by_rows[large] / by_rows[small],
                f"{small} instances {by_rows[small]:.2f} ms",
                "~1x",
            )


if __name__ == "__main__":
    main()
