"""The query plans behind rows 5–7 on PostgreSQL: EXPLAIN ANALYZE at 200,000 instances and 100,000 failed jobs
(and the bell, polled by every open page, for a user with 100,000 unread notifications).

    .venv/bin/python -m bench.query_plans [--size tiny|default]

The statements are written out by hand to match what the app runs (each label names its
source: change both together); the plan and its time are what to compare before and after a
change. The tables are analysed after seeding, as autovacuum would have done.
"""

from __future__ import annotations

from bench.stack import (
    create_workflow,
    note,
    result,
    running_stack,
    seed_failed_jobs,
    seed_instances,
    size_parser,
)

_FRAGMENT = "SELECT i.id, i.status, i.updated_at FROM workflow_instances i JOIN workflows w ON w.id = i.workflow_id"
_JOINED = "SELECT i.id FROM workflow_instances i JOIN workflows w ON w.id = i.workflow_id"
_MINE = "user_id = (SELECT min(id) FROM users)"
QUERIES = {
    "list fragment version (app/services/instance_listing.py instance_list_version)": (
        f"{_FRAGMENT} ORDER BY i.created_at DESC, i.id DESC LIMIT 50"
    ),
    "JSON list total, capped (app/services/instance_listing.py list_instances)": (
        f"SELECT count(*) FROM ({_JOINED} LIMIT 10001) AS listed"
    ),
    "JSON list first page (app/services/instance_listing.py list_instances)": (
        "SELECT * FROM workflow_instances ORDER BY created_at DESC, id DESC LIMIT 20"
    ),
    "failed jobs, newest 100 (app/services/failed_jobs.py failed_jobs)": (
        "SELECT * FROM job_records WHERE state = 'failed' ORDER BY finished_at DESC LIMIT 100"
    ),
    "failed groups (app/services/failed_jobs.py failed_groups)": (
        "SELECT job_type, error_shape, jobs FROM failed_job_groups ORDER BY jobs DESC, job_type, error_shape LIMIT 100"
    ),
    "the bell's newest unread, capped (app/services/notifications.py unread_state)": (
        f"SELECT id FROM notifications WHERE {_MINE} AND read_at IS NULL ORDER BY created_at DESC LIMIT 100"
    ),
    "notifications page (app/services/notifications.py list_notifications)": (
        f"SELECT * FROM notifications WHERE {_MINE} ORDER BY created_at DESC LIMIT 200"
    ),
}


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    instances, failed = {"tiny": (2_000, 1_000), "default": (200_000, 100_000), "large": (1_000_000, 500_000)}[
        args.size
    ]
    with running_stack(consumers=()) as stack:
        seed_instances(stack, create_workflow(stack), instances)
        seed_failed_jobs(stack, failed)
        stack.sql("VACUUM ANALYZE workflow_instances")
        stack.sql(
            "INSERT INTO notifications (user_id, kind, target_type, target_id, title, body, link, created_at)"
            " SELECT (SELECT min(id) FROM users), 'instance_completed', 'instance', g::text, 'done', '', '',"
            " now() - g * interval '1 second' FROM generate_series(1, %s) g",
            (failed,),
        )
        stack.sql("VACUUM ANALYZE job_records")
        stack.sql("VACUUM FULL ANALYZE failed_job_groups")  # the seed's dead versions (see failed_jobs_page.py)
        stack.sql("VACUUM ANALYZE notifications")
        times: dict[str, float] = {}
        for label, sql in QUERIES.items():
            plan = [row[0] for row in stack.sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
            note(f"{label}:\n    " + "\n    ".join(plan))
            times[label] = float(plan[-1].split(":")[1].split()[0])  # "Execution Time: 12.345 ms"
        baseline = next(label for label in QUERIES if "first page" in label)
        for label, ms in times.items():
            result(
                f"{label} at {instances:,} instances / {failed:,} failed jobs",
                f"{ms:.2f} ms",
                ms / times[baseline],
                f"the JSON list's first page by index ({times[baseline]:.2f} ms)",
                "an index read, not a scan",
            )


if __name__ == "__main__":
    main()
