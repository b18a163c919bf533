"""The real stack for benchmarks: PostgreSQL, Redis, gunicorn, consumers and sharlite, torn down after.

    with running_stack(latency_ms=20, workers=2) as stack:
        stack.api.get("/api/shar/instances")

Each run gets a fresh PostgreSQL database (dropped after), queue names no other run uses
in a Redis database nobody else uses (its keys deleted after), free ports, and a temporary
instance folder holding every process's log. Every child leads its own process group and
the whole group is stopped on exit, on an error, on Ctrl-C and on SIGTERM. The processes, the
database and the settings' environment come from tests/support/stack.py, the harness the tests use.

Also here: bulk seeding in SQL, a wrk wrapper (16 connections by default), a bounded
asyncio httpx loop, and the one way every benchmark prints its figure and ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from tests.support.databases import postgres_database
from tests.support.servers import free_port
from tests.support.sockets import connections_per_child
from tests.support.stack import REPO, Processes, unique_queues

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Every load and the signed-in client send one User-Agent, as a browser does: a session signed in
# under another one is marked not fresh by Flask-Login and re-signed on every answer.
BROWSER_AGENT = "sharboard-bench"
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "bench-pass-123"
BPMN = (REPO / "tests" / "fixtures" / "bpmn" / "user_task.bpmn").read_text()
SIZES = ("tiny", "default", "large")


# -- output -----------------------------------------------------------------------------


def result(what: str, figure: str, ratio: float, baseline: str, goal: str) -> None:
    """The one line a benchmark ends with: its figure, its ratio against a same-run baseline, the goal."""
    print(f"RESULT {what} | figure {figure} | ratio {ratio:.2f} vs {baseline} | goal {goal}", flush=True)


def note(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def size_parser(description: str) -> argparse.ArgumentParser:
    """Every benchmark's arguments: --size tiny|default|large (tiny is for the test suite)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="default",
        help="tiny: seconds, for the test suite; default: the issue's figure; large: longer",
    )
    return parser


# -- the stack --------------------------------------------------------------------------


def free_redis_db() -> int:
    """A Redis database number holding no keys (1–15); 0 as a last resort (our keys are unique)."""
    for number in range(15, 0, -1):
        if redis.Redis(REDIS_HOST, REDIS_PORT, db=number).dbsize() == 0:
            return number
    return 0


@dataclass
class Stack:
    """One running stack; attributes are what benchmarks need to talk to it."""

    tag: str
    tmp: Path
    settings: dict[str, Any]
    processes: Processes
    token: str = ""
    admin_id: int = 0
    _clients: list[httpx.Client] = field(default_factory=list)

    # urls and clients
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings['port']}"

    def web_split(self) -> list[int]:
        """Established connections each gunicorn worker holds now, most first: how a load's
        keep-alive connections landed on the workers."""
        return connections_per_child(self.processes.procs["web"].pid, int(self.settings["port"]))

    @property
    def engine_url(self) -> str:
        return str(self.settings["shar_base_url"])

    @property
    def db_name(self) -> str:
        return str(self.settings["database_url"]).rsplit("/", 1)[1]

    @property
    def db_url(self) -> str:
        return str(self.settings["database_url"]).replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def queues(self) -> dict[str, str]:
        return {
            "workflow": self.settings["shar_workflow_queue"],
            "instance": self.settings["shar_instance_queue"],
            "sync": self.settings["shar_sync_queue"],
        }

    def api(self) -> httpx.Client:
        """A client for the JSON API with the admin's bearer token."""
        client = httpx.Client(base_url=self.url, timeout=60, headers=self.auth)
        self._clients.append(client)
        return client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def web(self) -> httpx.Client:
        """A client signed in to the web pages as the admin (the login form, CSRF token and all)."""
        client = httpx.Client(base_url=self.url, timeout=60, headers={"User-Agent": BROWSER_AGENT})
        page = client.get("/login").text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, **({"csrf_token": csrf.group(1)} if csrf else {})}
        answer = client.post("/login", data=data)
        if answer.status_code not in (200, 302) or "session" not in client.cookies:
            raise RuntimeError(f"login failed: HTTP {answer.status_code}")
        self._clients.append(client)
        return client

    def cookie_header(self, client: httpx.Client) -> str:
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())

    # processes
    def flask(self, *args: str, timeout: float = 120) -> str:
        """Run one `flask …` command against this stack; its output, or an error naming it."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=REPO,
            env=self.processes.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def pids(self, name: str) -> list[int]:
        """The leader and every process in child `name`'s process group (e.g. Huey's workers)."""
        leader = self.processes.procs[name].pid
        out = subprocess.run(
            ["ps", "-o", "pid=", "-g", str(leader)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def memory_mib(self, name: str) -> float:
        """Proportional set size (shared pages split among sharers) of child `name` and all its processes, MiB."""
        total = 0
        for pid in self.pids(name):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total / 1024

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by each child's processes, by PostgreSQL (the
        backends of this stack's database and the server's own background processes: not other
        databases' backends, which other runs on a shared machine keep busy) and by Redis (its one
        process: run on a quiet machine). Differences of two readings say where a measured stretch
        spent the machine."""
        tick = os.sysconf("SC_CLK_TCK")
        groups = {name: self.pids(name) for name in self.processes.procs}
        groups["postgres"] = [
            pid
            for (pid,) in self.sql(
                "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() OR datname IS NULL)"
                " AND pid <> pg_backend_pid()"
            )
        ]
        out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True, check=False).stdout
        groups["redis-server"] = [int(p) for p in out.split()]
        used: dict[str, float] = {}
        for name, pids in groups.items():
            total = 0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except (FileNotFoundError, ProcessLookupError):
                    continue
                total += int(fields[11]) + int(fields[12])  # utime, stime
            used[name] = total / tick
        return used

    # the engine
    def set_latency(self, latency_ms: int) -> None:
        httpx.put(f"{self.engine_url}/_sharlite/faults", json={"latency_ms": latency_ms}, timeout=10).raise_for_status()

    # SQL
    def sql(self, statement: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement on the stack's database (autocommit); its rows, if any."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def scalar(self, statement: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        return self.sql(statement, params)[0][0]


@contextmanager
def running_stack(
    *,
    latency_ms: int = 0,
    workers: int = 1,
    web_workers: int = 2,
    web_threads: int = 4,
    consumers: Sequence[str] = ("workflow", "instance", "sync"),
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Start the stack (as `flask shar up` does, on PostgreSQL and Redis); stop and clean it on exit.

    `workers` is Huey workers per consumer, `web_workers`/`web_threads` gunicorn's; `consumers`
    names the queues to consume (workflow, instance, sync); `extra_env` adds settings.
    """
    tag = f"bench{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    (tmp / "logs").mkdir()
    database = ExitStack()
    web_port, engine_port = free_port(), free_port()
    settings = {
        "database_url": database.enter_context(postgres_database()),
        "redis_url": f"redis://{REDIS_HOST}:{REDIS_PORT}/{free_redis_db()}",
        "secret_key": f"secret-{tag}",
        "instance_dir": str(tmp),
        "port": web_port,
        "local_shar_port": engine_port,
        "shar_base_url": f"http://127.0.0.1:{engine_port}",
        **unique_queues(f"{tag}-"),
        "log_level": "WARNING",
        "shar_log_level": "WARNING",
        "shar_notifications_enabled": False,
        # The per-token API limit still runs (its Redis hit is part of every API request's
        # cost) but never trips: a benchmark measures answers, not 429s.
        "api_rate_limit": "1000000000 per minute",
    }
    stack = Stack(tag=tag, tmp=tmp, settings=settings, processes=Processes(settings, tmp / "logs", ("FLASK_", "PORT")))
    stack.processes.env.update(extra_env or {})
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        started = time.monotonic()
        stack.flask("db", "upgrade")
        _admin_and_token(stack)
        stack.processes.start_engine(tmp / "sharlite.db", engine_port, "--latency-ms", str(latency_ms), name="sharlite")
        stack.processes.start_web(web_port, web_workers, web_threads)
        for queue in consumers:
            stack.processes.start_consumer(stack.queues[queue], workers, name=f"consumer:{queue}")
        stack.processes.wait_answering(f"{stack.engine_url}/health")
        stack.processes.wait_answering(f"{stack.url}/healthz")
        note(
            f"stack up in {time.monotonic() - started:.1f} s: web {stack.url}, engine {stack.engine_url}, "
            f"db {stack.db_name}, redis {settings['redis_url']}, logs {tmp / 'logs'}"
        )
        yield stack
    except BaseException:
        note("the stack's logs, last lines:\n" + stack.processes.logs())
        raise
    finally:
        _ignore_interrupts()  # a second Ctrl-C must not cut the clean-up short
        try:
            for client in stack._clients:
                client.close()
            stack.processes.stop()
            database.close()  # drops it
            _drop_redis_keys(stack)
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: stop the benchmark; further ones are ignored until the stack is cleaned up."""
    _ignore_interrupts()
    raise KeyboardInterrupt(f"signal {signum}")


def _ignore_interrupts() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _admin_and_token(stack: Stack) -> None:
    """The admin user (signs in to the web pages) and its API token, made by the app's own CLI.

    The CLI, not SQL, so columns the app fills itself (keys, defaults) stay the app's business.
    """
    stack.flask(
        "shar", "user", "create", ADMIN_EMAIL, "--password", ADMIN_PASSWORD, "--role", "admin", "--name", "Bench"
    )
    stack.token = (
        stack.flask("shar", "token", "create", "--user", ADMIN_EMAIL, "--name", "bench").strip().splitlines()[-1]
    )
    stack.admin_id = stack.scalar("SELECT id FROM users WHERE email = %s", (ADMIN_EMAIL,))


def _drop_redis_keys(stack: Stack) -> None:
    client = redis.Redis.from_url(stack.settings["redis_url"])
    keys = list(client.scan_iter(match=f"*{stack.tag}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


# -- seeding (bulk SQL) -----------------------------------------------------------------


def create_workflow(stack: Stack, name: str = "Bench") -> int:
    """A real workflow, created synchronously in the engine through the API; its id."""
    answer = stack.api().post("/api/shar/workflows", json={"name": name, "bpmn_xml": BPMN, "async": False})
    if answer.status_code != 201:
        raise RuntimeError(f"creating workflow {name}: HTTP {answer.status_code} {answer.text[:300]}")
    return int(answer.json()["data"]["id"])


def seed_instances(
    stack: Stack, workflow_id: int, count: int, *, status: str = "running", shar_ids: Sequence[str] | None = None
) -> None:
    """`count` instances in one INSERT … SELECT; `shar_ids` (one per row) when they must exist in the engine."""
    ids = list(shar_ids) if shar_ids is not None else None
    stack.sql(
        "INSERT INTO workflow_instances (id, workflow_id, shar_instance_id, status, variables, current_activities,"
        " created_by, launch_requests, created_at, updated_at, launched_at, last_synced_at, progressed_at) "
        "SELECT gen_random_uuid()::text, %(wf)s, coalesce((%(ids)s::text[])[n], 'seed-' || n), %(status)s,"
        " ('{\"n\": ' || n || '}')::json, '[\"approve\"]'::json, %(user)s, 1,"
        " now() - make_interval(secs => n), now() - make_interval(secs => n), now() - make_interval(secs => n),"
        " NULL, now() - make_interval(secs => n) "
        "FROM generate_series(1, %(count)s) AS n",
        {"wf": workflow_id, "ids": ids, "status": status, "user": stack.admin_id, "count": count},
    )
    stack.sql("ANALYZE workflow_instances")


# Each blurs to one shape (app.jobs.errors.error_shape), so 100,000 jobs make four groups.
ERRORS = (
    "SHAR answered 500: launch refused: variable 'amount' is missing (task {n})",
    "SHAR answered 503: connection to http://shar-{m}.internal:8080 timed out after 30.0 s",
    "instance {uuid} no longer exists",
    "SHAR answered 404: workflow 'Order{m}' not found",
)


def seed_failed_jobs(stack: Stack, count: int) -> None:
    """`count` failed launch jobs with four kinds of error, each with its own ids and numbers."""
    cases = " ".join(
        f"WHEN {i} THEN replace(replace(replace(%(e{i})s, '{{n}}', n::text), '{{m}}', (n %% 97)::text),"
        f" '{{uuid}}', md5(n::text)::uuid::text)"
        for i in range(len(ERRORS))
    )
    # The shape the runner stores when a job fails (app.jobs.errors.error_shape), one per kind.
    from app.jobs.errors import error_shape

    shapes = " ".join(f"WHEN {i} THEN %(s{i})s" for i in range(len(ERRORS)))
    stack.sql(
        "INSERT INTO job_records (job_type, queue, target_type, target_id, state, attempts, max_attempts, payload,"
        " last_error, error_shape, created_by, created_at, updated_at, finished_at) "
        f"SELECT 'launch_instance', %(queue)s, 'instance', md5(n::text), 'failed', 3, 3, '{{}}'::json,"
        f" CASE n %% {len(ERRORS)} {cases} END, CASE n %% {len(ERRORS)} {shapes} END, %(user)s,"
        " now() - make_interval(secs => n), now() - make_interval(secs => n), now() - make_interval(secs => n) "
        "FROM generate_series(1, %(count)s) AS n",
        {
            "queue": stack.queues["instance"],
            "user": stack.admin_id,
            "count": count,
            **{f"e{i}": text for i, text in enumerate(ERRORS)},
            **{
                f"s{i}": error_shape(text.format(n=7, m=7, uuid="3f2b6c1e-1111-2222-3333-444455556666"))
                for i, text in enumerate(ERRORS)
            },
        },
    )
    stack.sql("ANALYZE job_records")


def clone_engine_instances(stack: Stack, count: int) -> list[str]:
    """`count` running instances in the engine: one launched for real, copied in its SQLite file."""
    answer = httpx.post(f"{stack.engine_url}/api/v1/workflows/Bench/instances", json={"variables": {}}, timeout=30)
    answer.raise_for_status()
    template = answer.json()["id"]
    ids = [f"{stack.tag}-{uuid.uuid4().hex}" for _ in range(count)]
    from app.sharlite.store import INSTANCE_COLUMNS

    # Every column but the id, as the engine's store lists them (a column it adds is copied too).
    copied = ", ".join(INSTANCE_COLUMNS[1:])
    with sqlite3.connect(stack.tmp / "sharlite.db", timeout=30) as conn:
        conn.executemany(
            f"INSERT INTO instances SELECT ?, {copied} FROM instances WHERE id = ?", [(i, template) for i in ids]
        )
    return ids


# -- load -------------------------------------------------------------------------------


@dataclass
class Load:
    """What a load run measured."""

    requests: int
    seconds: float
    mean_ms: float
    p99_ms: float
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(
    url: str,
    *,
    seconds: float = 10,
    connections: int = 16,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str = "",
    expect: int = 200,
) -> Load:
    """`wrk` against a loopback `url` for `seconds`, after checking one request answers `expect`.

    Requests answered other than 2xx/3xx count as errors, and any error refuses the figure: a
    rate of 429s or 500s measures the refusal, not the work (RuntimeError).
    """
    return _valid(
        _wrk(url, seconds=seconds, connections=connections, method=method, headers=headers, body=body, expect=expect),
        f"{method} {url}",
    )


def _valid(load: Load, what: str) -> Load:
    if load.errors:
        raise RuntimeError(
            f"{what}: {load.errors:,} of {load.requests:,} answers were errors (not 2xx/3xx); "
            "the figure would measure them, not the work"
        )
    return load


def _wrk(
    url: str, *, seconds: float, connections: int, method: str, headers: dict[str, str] | None, body: str, expect: int
) -> Load:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("load goes to loopback addresses only")
    headers = {"User-Agent": BROWSER_AGENT, **(headers or {})}
    answer = httpx.request(method, url, headers=headers, content=body or None, timeout=60, follow_redirects=False)
    if answer.status_code != expect:
        raise RuntimeError(f"{method} {url} answers HTTP {answer.status_code}, not {expect}: {answer.text[:300]}")
    if not shutil.which("wrk") or os.environ.get("BENCH_LOAD") == "httpx":
        return _httpx_load(url, seconds=seconds, connections=connections, method=method, headers=headers, body=body)
    script = "".join(f"wrk.headers[{_lua(name)}] = {_lua(value)}\n" for name, value in (headers or {}).items())
    script += f"wrk.method = {_lua(method)}\n" + (f"wrk.body = {_lua(body)}\n" if body else "")
    path = Path(tempfile.mkstemp(suffix=".lua")[1])
    path.write_text(script)
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{max(int(seconds), 1)}s",
                "--timeout",
                "30s",
                "--latency",
                "-s",
                str(path),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        path.unlink()
    out = done.stdout
    if done.returncode or done.stderr.strip():
        raise RuntimeError(f"wrk failed: {done.stderr}{out}")
    mean = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (mean and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return Load(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1000,
        mean_ms=float(mean.group(1)) * _UNITS[mean.group(2)],
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)],
        errors=int(errors.group(1)) if errors else 0,
    )


def _httpx_load(
    url: str, *, seconds: float, connections: int, method: str, headers: dict[str, str] | None, body: str
) -> Load:
    """wrk's stand-in where it is not installed: `connections` asyncio loops for `seconds`."""

    async def run() -> Load:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
            started = time.perf_counter()
            deadline = started + seconds

            async def loop() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    began = time.perf_counter()
                    try:
                        answer = await client.request(method, url, content=body or None)
                        errors += answer.status_code >= 400
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append(time.perf_counter() - began)

            await asyncio.gather(*(loop() for _ in range(connections)))
            return Load(
                len(latencies),
                time.perf_counter() - started,
                1000 * sum(latencies) / max(len(latencies), 1),
                1000 * percentile(latencies, 99),
                errors,
            )

    note("wrk is not installed (apt-get install wrk): measuring with an httpx loop, whose own CPU cost is higher")
    return asyncio.run(run())


def _lua(text: str) -> str:
    """A Lua string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def fire(
    requests: Sequence[Callable[[httpx.AsyncClient], Any]], *, concurrency: int = 16, timeout: float = 120
) -> Load:
    """Send a bounded list of requests, `concurrency` at a time; each is `lambda client: client.post(…)`."""

    async def run() -> Load:
        latencies: list[float] = []
        errors = 0
        queue = list(reversed(requests))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def worker() -> None:
                nonlocal errors
                while queue:
                    send = queue.pop()
                    began = time.perf_counter()
                    try:
                        answer = await send(client)
                        errors += answer.status_code >= 400
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append(time.perf_counter() - began)

            started = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
            return Load(
                len(latencies),
                time.perf_counter() - started,
                mean_ms=1000 * sum(latencies) / len(latencies),
                p99_ms=1000 * percentile(latencies, 99),
                errors=errors,
            )

    return _valid(asyncio.run(run()), f"{len(requests):,} requests")


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


def mean_ms(
    client: httpx.Client, path: str, rounds: int, headers: dict[str, str] | None = None, expect: int = 200
) -> float:
    """Mean time of `rounds` sequential GETs of `path` (after one warm-up), in ms."""
    client.get(path, headers=headers)
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        samples.append(time.perf_counter() - began)
        if answer.status_code != expect:
            raise RuntimeError(f"GET {path}: HTTP {answer.status_code}, expected {expect}")
    return 1000 * sum(samples) / len(samples)
