"""Rows 5 and 6: the JSON instance list and the polled list fragment at 200,000 rows vs 200 rows.

    .venv/bin/python -m bench.list_scaling [--size tiny|default]

Seeds 200 instances, measures, seeds up to 200,000, measures again: wrk, 16 connections,
8 s each. /healthz is measured at each size too: the load-adjusted ratio divides each
time by it, for a machine others share. The JSON list is `GET /api/shar/instances` (first page); the fragment is
`GET /instances/_rows` polled with the ETag of a first read (unchanged, 304), as htmx does.
Goal: each ≤ 2× its time at 200 rows.
"""

from __future__ import annotations

from bench.stack import (
    create_workflow,
    note,
    result,
    running_stack,
    seed_instances,
    size_parser,
    wrk,
)


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    small, large, seconds = {"tiny": (200, 2_000, 2), "default": (200, 200_000, 8), "large": (200, 1_000_000, 15)}[
        args.size
    ]
    with running_stack() as stack:
        workflow_id = create_workflow(stack)
        web = stack.web()
        cookie = stack.cookie_header(web)
        figures: dict[str, dict[int, float]] = {"JSON instance list": {}, "list fragment /instances/_rows (304)": {}}
        health: dict[int, float] = {}
        for rows in (small, large):
            seed_instances(stack, workflow_id, rows - stack.scalar("SELECT count(*) FROM workflow_instances"))
            health[rows] = wrk(f"{stack.url}/healthz", seconds=seconds).mean_ms
            etag = web.get("/instances/_rows", headers={"HX-Request": "true"}).headers["ETag"]
            json_list = wrk(f"{stack.url}/api/shar/instances", seconds=seconds, headers=stack.auth)
            fragment = wrk(
                f"{stack.url}/instances/_rows",
                seconds=seconds,
                headers={"Cookie": cookie, "HX-Request": "true", "If-None-Match": etag},
                expect=304,
            )
            for label, load in zip(figures, (json_list, fragment), strict=True):
                figures[label][rows] = load.mean_ms
                note(
                    f"{label} at {rows:,} rows: mean {load.mean_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, "
                    f"{load.rate:.0f} req/s, {load.errors} errors"
                )
        note(
            f"/healthz mean: {health[small]:.1f} ms at {small} rows, {health[large]:.1f} ms at {large:,} rows "
            "(the machine's load at each size)"
        )
        for label, by_rows in figures.items():
            adjusted = (by_rows[large] / health[large]) / (by_rows[small] / health[small])
            result(
                f"{label} at {large:,} rows",
                f"{by_rows[large]:.1f} ms mean (load-adjusted ratio {adjusted:.2f})",
                by_rows[large] / by_rows[small],
                f"{small} rows {by_rows[small]:.1f} ms",
                "<= 2x",
            )


if __name__ == "__main__":
    main()
