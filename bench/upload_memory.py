"""Many large BPMN uploads at once through the API: each gunicorn worker's memory, and how long a
small poll of another user waits meanwhile (docs/reliability.md, "50 uploads of 5 MB at once").

    .venv/bin/python -m bench.upload_memory [--size tiny|default|large] [--uploads N] [--rounds R]

The web tier as `flask shar up` runs it on two cores: 2 gunicorn workers × 8 threads. No consumer
runs, so the creates stay queued and the machine's two cores are the web tier's (the engine would
parse each file again). Each round fires N uploads at once (default 50 distinct valid files of
4.9 MB: a parallel split into branches of user tasks with documentation and a diagram,
tests/support/large_bpmn.py) with `POST /api/shar/workflows`; an answer 503 is sent again after its
Retry-After, as a client should, and counted. Every upload must end 202 and be stored.

Memory: each worker's VmRSS sampled every 20 ms during the round (its peak; the kernel's VmHWM
at the end says the same or more), and VmRSS 5 s after the round's last answer (what the worker
keeps). Warm: after one small upload and some polls.

Poll: 6 pollers GET `/api/shar/workflows/Bench` (a small API read with the bearer token), each a
new connection (so they land on both workers), one after another with 50 ms between, for 5 s
quiet before the first round (the baseline) and throughout each round.

Goals: a worker's peak ≤ 3× its warm RSS, what it keeps after ≤ 1.5× warm; the poll's p99 during
the burst ≤ 1 s.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.stack import BPMN, Stack, note, percentile, result, running_stack, size_parser
from tests.support.large_bpmn import large_bpmn
from tests.support.sockets import children

POLLERS = 6
POLL_PAUSE = 0.05
QUIET_SECONDS = 5.0
SETTLE_SECONDS = 5.0
SAMPLE_EVERY = 0.02


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--uploads", type=int, default=0, help="uploads at once (default: 6 tiny, 50, 100 large)")
    parser.add_argument("--rounds", type=int, default=2, help="bursts one after the other (1 for tiny)")
    args = parser.parse_args()
    uploads = args.uploads or {"tiny": 6, "default": 50, "large": 100}[args.size]
    size = {"tiny": 1_500_000, "default": 4_900_000, "large": 4_900_000}[args.size]
    rounds = 1 if args.size == "tiny" else max(1, args.rounds)
    with running_stack(web_workers=2, web_threads=8, consumers=()) as stack:
        create_workflow_queued(stack)
        workers = sorted(children(stack.processes.procs["web"].pid))
        poll_url = f"{stack.url}/api/shar/workflows/Bench"
        for _ in range(20):
            httpx.get(poll_url, headers={**stack.auth, "Connection": "close"}, timeout=30).raise_for_status()
        warm = {pid: _status(pid)["VmRSS"] for pid in workers}
        note("warm RSS per worker: " + ", ".join(f"{pid} {mib:.0f} MiB" for pid, mib in warm.items()))
        quiet = Polls(poll_url, stack.auth)
        quiet.run_for(QUIET_SECONDS)
        note(f"quiet poll: {quiet.describe()}")
        bodies = [
            json.dumps({"name": f"Large {r}-{n}", "bpmn_xml": large_bpmn(size, tag=f"r{r}n{n}")}).encode()
            for r in range(rounds)
            for n in range(uploads)
        ]
        note(f"{uploads} uploads a round, {len(bodies[0]) / 1e6:.2f} MB each as JSON, {rounds} round(s)")
        measured = [_round(stack, workers, poll_url, bodies[r * uploads : (r + 1) * uploads]) for r in range(rounds)]
        stored = stack.scalar("SELECT count(*) FROM workflows WHERE name LIKE 'Large %%'")
        if stored != uploads * rounds:
            raise RuntimeError(f"{stored} large workflows stored, not {uploads * rounds}")
        _report(warm, quiet, measured, uploads)


def create_workflow_queued(stack: Stack) -> None:
    """The poll's workflow: one small upload (async, no consumer: it stays `creating`), which also
    warms each worker's upload path."""
    headers = {**stack.auth, "Connection": "close"}  # a new connection each: both workers get some
    for _ in range(6):
        body = {"name": "Bench", "bpmn_xml": BPMN}
        answer = httpx.post(f"{stack.url}/api/shar/workflows", json=body, headers=headers, timeout=60)
        if answer.status_code not in (200, 202):
            raise RuntimeError(f"the small upload: HTTP {answer.status_code} {answer.text[:300]}")


@dataclass
class Polls:
    """POLLERS threads GETting `url` (a new connection each) until stopped; every latency, in s."""

    url: str
    auth: dict[str, str]
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(POLLERS)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def run_for(self, seconds: float) -> None:
        self.start()
        time.sleep(seconds)
        self.stop()

    def _poll(self) -> None:
        # One client per poller (making one costs tens of ms: its TLS context), a new connection per poll.
        with httpx.Client(timeout=300, headers={**self.auth, "Connection": "close"}) as client:
            while not self._stop.is_set():
                began = time.perf_counter()
                try:
                    answer = client.get(self.url)
                    self.errors += answer.status_code != 200
                except httpx.HTTPError:
                    self.errors += 1
                self.latencies.append(time.perf_counter() - began)
                self._stop.wait(POLL_PAUSE)

    def p(self, pct: float) -> float:
        return 1000 * percentile(self.latencies, pct)

    def describe(self) -> str:
        worst = 1000 * max(self.latencies, default=0.0)
        return (
            f"{len(self.latencies)} polls, p50 {self.p(50):.1f} ms, p99 {self.p(99):.1f} ms, max {worst:.1f} ms, "
            f"{self.errors} errors"
        )


@dataclass
class Round:
    seconds: float
    statuses: dict[int, int]  # first answers by status
    retried: int  # 503s sent again
    peak: dict[int, float]  # sampled VmRSS peak per worker, MiB
    hwm: dict[int, float]  # VmHWM per worker at the end, MiB
    after: dict[int, float]  # VmRSS SETTLE_SECONDS after the last answer, MiB
    polls: Polls


def _round(stack: Stack, workers: list[int], poll_url: str, bodies: list[bytes]) -> Round:
    peak = {pid: 0.0 for pid in workers}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers:
                peak[pid] = max(peak[pid], _status(pid)["VmRSS"])
            done.wait(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    polls = Polls(poll_url, stack.auth)
    sampler.start()
    polls.start()
    began = time.perf_counter()
    statuses, retried = asyncio.run(_burst(stack, bodies))
    seconds = time.perf_counter() - began
    polls.stop()
    done.set()
    sampler.join()
    hwm = {pid: _status(pid)["VmHWM"] for pid in workers}
    time.sleep(SETTLE_SECONDS)
    after = {pid: _status(pid)["VmRSS"] for pid in workers}
    note(
        f"round: {len(bodies)} uploads in {seconds:.1f} s, first answers {dict(sorted(statuses.items()))}, "
        f"{retried} sent again after a 503; poll during it: {polls.describe()}"
    )
    note(
        "  per worker (MiB): "
        + "; ".join(f"{pid} peak {peak[pid]:.0f} (HWM {hwm[pid]:.0f}), after {after[pid]:.0f}" for pid in workers)
    )
    return Round(seconds, statuses, retried, peak, hwm, after, polls)


async def _burst(stack: Stack, bodies: list[bytes]) -> tuple[dict[int, int], int]:
    """Every body POSTed at once; a 503 is sent again after its Retry-After. The first answers by
    status, and how many were sent again. Any final answer but 202 is an error."""
    statuses: dict[int, int] = {}
    retried = 0
    # A new connection for each upload and each retry, as 50 clients would have: none is reused after
    # a Retry-After wait longer than the server's keep-alive (closed under it as it is reused).
    headers = {**stack.auth, "Content-Type": "application/json", "Connection": "close"}
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(base_url=stack.url, timeout=300, limits=limits, headers=headers) as client:

        async def upload(body: bytes) -> None:
            nonlocal retried
            first = True
            while True:
                answer = await client.post("/api/shar/workflows", content=body)
                if first:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    first = False
                if answer.status_code != 503:
                    break
                retried += 1
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            if answer.status_code != 202:
                raise RuntimeError(f"an upload answered HTTP {answer.status_code}: {answer.text[:300]}")

        await asyncio.gather(*(upload(body) for body in bodies))
    return statuses, retried


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of process `pid`, MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def _report(warm: dict[int, float], quiet: Polls, rounds: list[Round], uploads: int) -> None:
    worst_peak = max((r.peak[pid], pid) for r in rounds for pid in warm)
    worst_after = max((r.after[pid], pid) for r in rounds for pid in warm)
    polls = Polls(quiet.url, quiet.auth, [s for r in rounds for s in r.polls.latencies])
    result(
        f"web worker peak RSS, {uploads} large uploads at once",
        f"{worst_peak[0]:.0f} MiB (warm {warm[worst_peak[1]]:.0f})",
        worst_peak[0] / warm[worst_peak[1]],
        "the worker's warm RSS",
        "<= 3x",
    )
    result(
        "web worker RSS kept after the burst",
        f"{worst_after[0]:.0f} MiB (warm {warm[worst_after[1]]:.0f})",
        worst_after[0] / warm[worst_after[1]],
        "the worker's warm RSS",
        "<= 1.5x",
    )
    result(
        "small API poll p99 during the burst",
        f"{polls.p(99):.0f} ms (max {1000 * max(polls.latencies, default=0):.0f} ms)",
        polls.p(99) / max(quiet.p(99), 0.001),
        f"quiet p99 {quiet.p(99):.1f} ms",
        "<= 1000 ms",
    )


if __name__ == "__main__":
    main()
