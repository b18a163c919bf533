"""Row 3: max throughput of an unchanged instance read with If-None-Match (304) vs `/healthz`.

    .venv/bin/python bench/conditional_reads.py [--size tiny|default]

Three reads, each answered 304 with the ETag of a first read: the API instance, the
instance's live fragment, and a workflow's badge fragment. wrk, 16 connections, 10 s each.
Goal: each ≥ 0.7× /healthz requests per second.
"""
from __future__ import annotations

from stack import (
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
    seconds = {"tiny": 2, "default": 10, "large": 30}[args.size]
    with running_stack() as stack:
        workflow_id = create_workflow(stack)
        seed_instances(stack, workflow_id, 200)
        instance_id = stack.scalar("SELECT id FROM workflow_instances ORDER BY created_at DESC LIMIT 1")
        api, web = stack.api(), stack.web()
        cookie = {"Cookie": stack.cookie_header(web)}
        cases = {"API instance": (f"/api/shar/instances/{instance_id}", stack.auth),
                 "live fragment": (f"/instances/{instance_id}/_live", cookie),
                 "badge fragment": (f"/workflows/_badge/{workflow_id}", cookie)}
        health = wrk(f"{stack.url}/healthz", seconds=seconds)
        note(f"/healthz: {health.rate:.0f} req/s, mean {health.mean_ms:.1f} ms")
        for label, (path, headers) in cases.items():
            first = (api if label.startswith("API") else web).get(path)
            etag = first.headers["ETag"]
            load = wrk(f"{stack.url}{path}", seconds=seconds, headers={**headers, "If-None-Match": etag},
                        expect=304)
            check = (api if label.startswith("API") else web).get(path, headers={"If-None-Match": etag})
            note(f"{label}: {load.rate:.0f} req/s, mean {load.mean_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, "
                 f"{load.errors} errors, answers HTTP {check.status_code}")
            result(f"{label} 304 throughput", f"{load.rate:.0f} req/s", load.rate / health.rate,
                   f"/healthz {health.rate:.0f} req/s", ">= 0.7x")


if __name__ == "__main__":
    main()
