"""How cheap are the polled workflow fragments? Each against the full /workflows page, in one run.

    .venv/bin/python -m bench.polling_partials [--size tiny|default]

On the benchmark stack, with 300 workflows (one in ten still `creating`, so the page
polls): the full page (the baseline), the list fragment and one badge, each changed
(200) and unchanged (304, with the ETag of a first read). wrk, 16 connections.
"""

from __future__ import annotations

from bench.stack import note, result, running_stack, size_parser, wrk


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    rows, seconds = {"tiny": (300, 1), "default": (300, 5), "large": (3_000, 10)}[args.size]
    with running_stack(consumers=()) as stack:
        stack.sql(
            "INSERT INTO workflows (name, version, description, bpmn_xml, bpmn_sha256, summary, status,"
            " created_by, created_at, updated_at) "
            "SELECT 'Flow' || lpad(n::text, 5, '0'), 1, '', '<x/>', md5(n::text), '{}'::json,"
            " CASE WHEN n %% 10 = 0 THEN 'creating' ELSE 'active' END, %s, now(), now() "
            "FROM generate_series(1, %s) AS n",
            (stack.admin_id, rows),
        )
        badge_id = stack.scalar("SELECT id FROM workflows WHERE status = 'creating' LIMIT 1")
        web = stack.web()
        cookie = {"Cookie": stack.cookie_header(web), "HX-Request": "true"}
        cases = {"list fragment": "/workflows/_rows", "one badge": f"/workflows/_badge/{badge_id}"}
        page = wrk(f"{stack.url}/workflows", seconds=seconds, headers={"Cookie": cookie["Cookie"]})
        note(f"full page /workflows: mean {page.mean_ms:.1f} ms, {page.rate:.0f} req/s")
        for label, path in cases.items():
            etag = web.get(path, headers=cookie).headers["ETag"]
            for state, headers, expect in (
                ("changed (200)", cookie, 200),
                ("unchanged (304)", {**cookie, "If-None-Match": etag}, 304),
            ):
                load = wrk(f"{stack.url}{path}", seconds=seconds, headers=headers, expect=expect)
                result(
                    f"{label}, {state}, {rows} workflows",
                    f"{load.mean_ms:.1f} ms mean ({load.rate:.0f} req/s)",
                    load.mean_ms / page.mean_ms,
                    f"full page {page.mean_ms:.1f} ms",
                    "none (context for row 3)",
                )


if __name__ == "__main__":
    main()
