"""Row 7: the admin failed-jobs page with 100,000 failed jobs vs the page with 100.

    .venv/bin/python -m bench.failed_jobs_page [--size tiny|default]

Seeds 100 failed jobs (four kinds of error, each with its own ids and numbers), times the
page with sequential requests, seeds up to 100,000 and times it again; the empty page is
shown for reference, and /healthz at each size gives a
load-adjusted ratio on a shared machine. At each size the table is vacuumed and analysed and the page viewed
once before the timed views. Goal: ≤ 2× the page with 100.
"""

from __future__ import annotations

from bench.stack import (
    mean_ms,
    note,
    result,
    running_stack,
    seed_failed_jobs,
    size_parser,
)


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    small, large, rounds = {"tiny": (100, 1_000, 2), "default": (100, 100_000, 5), "large": (100, 500_000, 3)}[
        args.size
    ]
    with running_stack(consumers=()) as stack:
        web = stack.web()
        figures = {0: mean_ms(web, "/admin/failed-jobs", rounds * 4)}
        health: dict[int, float] = {}
        for count in (small, large):
            seed_failed_jobs(stack, count - stack.scalar("SELECT count(*) FROM job_records"))
            # A table that grew over months has been vacuumed and analysed (PostgreSQL's autovacuum does
            # both after inserts); one filled in a second is brought to that state here.
            stack.sql("VACUUM ANALYZE job_records")
            # The seed fails its jobs in one statement, which leaves the counts' table a dead version per
            # job (1,352 pages at 100,000, the live rows last, so VACUUM cannot shorten it). The app fails
            # one job a commit, and 20,000 such failures leave it at 4 pages: it is rewritten to that.
            stack.sql("VACUUM FULL ANALYZE failed_job_groups")
            web.get("/admin/failed-jobs")  # one view first: the pages read next are the ones an operator re-reads
            health[count] = mean_ms(web, "/healthz", rounds * 4)
            figures[count] = mean_ms(web, "/admin/failed-jobs", rounds * 4)
        for count, ms in figures.items():
            note(
                f"failed-jobs page with {count:,} failed jobs: {ms:.1f} ms"
                + (f" (/healthz then: {health[count]:.1f} ms)" if count in health else "")
            )
        adjusted = (figures[large] / health[large]) / (figures[small] / health[small])
        result(
            f"failed-jobs page with {large:,} failed jobs",
            f"{figures[large]:.0f} ms (empty: {figures[0]:.0f} ms; load-adjusted ratio {adjusted:.2f})",
            figures[large] / figures[small],
            f"{small} failed jobs {figures[small]:.1f} ms",
            "<= 2x",
        )


if __name__ == "__main__":
    main()
