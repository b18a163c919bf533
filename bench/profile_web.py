"""Where a request's time goes: py-spy samples gunicorn's workers under wrk load, summarised by function.

    .venv/bin/python -m bench.profile_web launch [--seconds 15]
    .venv/bin/python -m bench.profile_web launch-worker [--seconds 15]   (the instance consumer)
    .venv/bin/python -m bench.profile_web sync-worker [--seconds 15]     (the sync consumer, SHAR at 20 ms)
    .venv/bin/python -m bench.profile_web failed-jobs [--seconds 15]
    .venv/bin/python -m bench.profile_web api-304|live-304 [--seconds 15]

`launch`: POST /api/shar/workflows/Bench/launch (SHAR at 2 s, as in launch_latency.py).
`failed-jobs`: the admin page with 100,000 failed jobs (as in failed_jobs_page.py).
`api-304`, `live-304`: an unchanged instance read with If-None-Match (as in conditional_reads.py).
Prints the share of samples in each function (inclusive, of app and library code) and
the leaf functions (where the CPU is), and keeps py-spy's raw stacks in --out.
Needs py-spy (`pip install py-spy`) and ptrace rights (root, or CAP_SYS_PTRACE).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

from bench.stack import (
    REPO,
    Stack,
    clone_engine_instances,
    create_workflow,
    fire,
    note,
    running_stack,
    seed_failed_jobs,
    seed_instances,
    wrk,
)

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+):(?P<line>\d+)\)$")


def summarise(raw: str, top: int = 25) -> str:
    """Inclusive and leaf shares per function from py-spy's raw (collapsed) stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    sql_from: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        names = [_name(f) for f in frames]
        total += int(count)
        for name in set(names):
            inclusive[name] += int(count)
        leaf[names[-1]] += int(count)
        if any("psycopg/" in f for f in frames):  # time in the database driver: charge the app line that asked
            asked = [_name(f, line=True) for f in frames if _is_app(f)]
            sql_from[asked[-1] if asked else "(outside app code)"] += int(count)

    def share(n: int) -> str:
        return f"  {100 * n / total:5.1f} %  "

    lines = [f"{total} samples (busy threads only)", "", "inclusive, app code (a function and what it calls):"]
    lines += [share(n) + name for name, n in inclusive.most_common() if _is_app(name)][:top]
    lines += ["", "inclusive, libraries:"]
    lines += [
        share(n) + name
        for name, n in inclusive.most_common(top * 4)
        if any(lib in name for lib in ("sqlalchemy", "jinja", "psycopg", "redis", "flask/", "werkzeug"))
    ][:top]
    lines += ["", "time in the database driver, by the app line that asked:"]
    lines += [share(n) + name for name, n in sql_from.most_common(top)]
    lines += ["", "leaf (where the CPU is, or the wait):"]
    lines += [share(n) + name for name, n in leaf.most_common(top)]
    return "\n".join(lines)


def _is_app(frame: str) -> bool:
    """A frame in sharboard's own code (py-spy names files by module path: app/api/auth.py)."""
    match = re.search(r"\((app/[^:)]+)", frame)
    return bool(match) and (REPO / match.group(1)).is_file()  # type: ignore[union-attr]


def _name(frame: str, *, line: bool = False) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    short = path.split("site-packages/")[-1] if "site-packages/" in path else re.sub(r"^.*?/(app/)", r"\1", path)
    return f"{match['func']} ({short}{':' + match['line'] if line else ''})"


def profile(
    stack: Stack,
    seconds: int,
    out: Path,
    load: threading.Thread,
    process: str = "web",
    gil: bool = False,
    idle: bool = False,
) -> str:
    """py-spy on one process group (gunicorn's, or a consumer's) while `load` runs; the summary.
    `gil`: only the thread holding the GIL is sampled, so the shares are of Python CPU alone
    (no waits on PostgreSQL, Redis or SHAR). `idle`: waiting threads are sampled too, so the shares
    are of wall time (where a job waits)."""
    leader = stack.processes.procs[process].pid
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--subprocesses",
            "--pid",
            str(leader),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            *(["--gil"] if gil else []),
            *(["--idle"] if idle else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    load.start()
    load.join()
    output = spy.communicate(timeout=seconds + 60)[0].decode(errors="replace")
    if spy.returncode:
        raise RuntimeError(f"py-spy failed: {output}")
    return summarise(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "case", choices=("launch", "launch-worker", "sync-worker", "failed-jobs", "api-304", "live-304", "summarise")
    )
    parser.add_argument("raw", nargs="?", type=Path, help="with summarise: a raw file kept by --out")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--gil", action="store_true", help="sample Python CPU only (the GIL's holder)")
    parser.add_argument("--idle", action="store_true", help="sample waiting threads too: shares of wall time")
    parser.add_argument("--out", type=Path, default=Path("/tmp/sharboard-profile.txt"))
    args = parser.parse_args()
    if args.case == "summarise":
        print(summarise(args.raw.read_text()))
        return
    consumers = {"launch": ("workflow",), "launch-worker": ("workflow", "instance"), "sync-worker": ("sync",)}.get(
        args.case, ()
    )
    with running_stack(
        consumers=consumers,
        latency_ms=20 if args.case == "sync-worker" else 0,
        workers=2 if args.case == "sync-worker" else 1,
    ) as stack:
        process = "web"
        if args.case == "sync-worker":  # the sync consumer working through a periodic sync of 3,000 (SHAR at 20 ms)
            workflow_id = create_workflow(stack)
            seed_instances(stack, workflow_id, 3000, shar_ids=clone_engine_instances(stack, 3000))
            load = threading.Thread(target=stack.flask, args=("shar", "queue", "sync"))
            process = "consumer:sync"
        elif args.case == "launch-worker":  # the instance consumer working through queued launches
            create_workflow(stack)
            url = f"{stack.url}/api/shar/workflows/Bench/launch"
            count = 3000

            def post_all() -> None:
                fire([lambda c: c.post(url, json={"variables": {"n": 1}}, headers=stack.auth)] * count)

            load = threading.Thread(target=post_all)
            process = "consumer:instance"
        elif args.case == "launch":
            create_workflow(stack)
            stack.set_latency(2000)
            load = threading.Thread(
                target=wrk,
                args=(f"{stack.url}/api/shar/workflows/Bench/launch",),
                kwargs={
                    "seconds": args.seconds,
                    "method": "POST",
                    "expect": 202,
                    "headers": {**stack.auth, "Content-Type": "application/json"},
                    "body": json.dumps({"variables": {"amount": 5}}),
                },
            )
        elif args.case in ("api-304", "live-304"):
            workflow_id = create_workflow(stack)
            seed_instances(stack, workflow_id, 200)
            instance_id = stack.scalar("SELECT id FROM workflow_instances ORDER BY created_at DESC LIMIT 1")
            if args.case == "api-304":
                path, client, headers = f"/api/shar/instances/{instance_id}", stack.api(), dict(stack.auth)
            else:
                web = stack.web()
                path, client, headers = f"/instances/{instance_id}/_live", web, {"Cookie": stack.cookie_header(web)}
            headers["If-None-Match"] = client.get(path).headers["ETag"]
            load = threading.Thread(
                target=wrk,
                args=(f"{stack.url}{path}",),
                kwargs={"seconds": args.seconds, "headers": headers, "expect": 304},
            )
        else:
            seed_failed_jobs(stack, 100_000)
            cookie = stack.cookie_header(stack.web())
            load = threading.Thread(
                target=wrk,
                args=(f"{stack.url}/admin/failed-jobs",),
                kwargs={"seconds": args.seconds, "connections": 2, "headers": {"Cookie": cookie}},
            )
        note(f"profiling {args.case} for {args.seconds} s")
        print(profile(stack, args.seconds, args.out, load, process, gil=args.gil, idle=args.idle))


if __name__ == "__main__":
    main()
