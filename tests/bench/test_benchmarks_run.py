"""Each benchmark in bench/ runs at tiny size against the real stack and prints its figure and ratio.

Not part of the test run (benchmarks are not; these take four minutes of the suite's two workers):
`pytest tests/bench --benchmarks` runs them, as whoever changes bench/ or the stack they start
should. The test run keeps test_benchmark_commands.py: every benchmark imports and parses its options.

No timing is asserted: this only keeps the benchmarks working as the app changes. Each
takes 10–30 s on a quiet machine; the generous timeouts are for a machine others share.
Needs PostgreSQL and Redis on 127.0.0.1 (as the rest of the suite); wrk is used when
installed, else the benchmarks' httpx loop.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.databases import pg_available
from tests.support.stack import REPO

BENCHMARKS = [
    "launch_latency",
    "launch_throughput",
    "conditional_reads",
    "pollers",
    "list_scaling",
    "failed_jobs_page",
    "periodic_sync",
    "sync_memory",
    "sync_throughput",
    "polling_partials",
    "query_plans",
    "overview_trends",
    "counts_version",
    "upload_memory",
]
RESULT = re.compile(r"^RESULT .+ \| figure .+ \| ratio \d+\.\d\d vs .+ \| goal .+$", re.MULTILINE)

pytestmark = [
    pytest.mark.benchmarks,
    pytest.mark.services,  # PostgreSQL, Redis and the stack as processes
    pytest.mark.skipif(not pg_available(), reason="the benchmarks run on PostgreSQL"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_prints_its_figure_and_ratio(name: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", "--size", "tiny"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the benchmark stops its stack and drops its database first
        stdout, stderr = proc.communicate(timeout=45)
        pytest.fail(f"{name} did not finish within 240 s:\n{stderr[-3000:]}")
    assert proc.returncode == 0, stdout + stderr[-6000:]
    assert RESULT.search(stdout), stdout + stderr[-3000:]
