"""Counting never fails the work it counts, and SHAR endpoints become templates (bounded labels)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core import metrics


class _Broken:
    def labels(self, *args: Any) -> Any:
        raise OSError("No space left on device")


def test_a_metric_that_cannot_be_written_is_dropped_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        metrics,
        "_metrics",
        lambda: {name: _Broken() for name in ("jobs", "job_seconds", "shar_seconds", "shar_errors", "deliveries")},
    )
    metrics.job_attempt("launch_instance", "succeeded", 0.1, delivers="email")
    metrics.shar_call("POST", "/api/v1/workflows/Orders/instances", 0.2, "http_5xx")
    assert [r.message for r in caplog.records] == ["metric not recorded", "metric not recorded"]


def test_shar_endpoints_are_labelled_by_template(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, ...]] = []

    class _Recording:
        def labels(self, *args: str) -> Any:
            seen.append(args)
            return self

        def observe(self, value: float) -> None:
            pass

        def inc(self) -> None:
            pass

    monkeypatch.setattr(metrics, "_metrics", lambda: {"shar_seconds": _Recording(), "shar_errors": _Recording()})
    metrics.shar_call("POST", "/api/v1/workflows/Order%20Flow/instances", 0.1)
    metrics.shar_call("GET", "/api/v1/instances/5f0c2d6e-1b7a-4c1e-9d2b-2a5f8e9c1d00", 0.1, "timeout")
    metrics.shar_call("GET", "/health", 0.1)
    assert seen == [
        ("POST", "/api/v1/workflows/{id}/instances"),
        ("GET", "/api/v1/instances/{id}"),
        ("GET", "/api/v1/instances/{id}", "timeout"),
        ("GET", "/health"),
    ]


FIRST_COUNTS_AT_ONCE = """
import logging, os, sys, tempfile, threading, time
from pathlib import Path
from app.core import metrics

metrics.configure(Path(tempfile.mkdtemp()))
import prometheus_client.metrics as declared

slow = declared.MetricWrapperBase.__init__
def slowly(self, *args, **kwargs):
    time.sleep(0.02)  # widens the window in which a second thread would declare them too
    slow(self, *args, **kwargs)
declared.MetricWrapperBase.__init__ = slowly

dropped = []
class Dropped(logging.Handler):
    def emit(self, record):
        dropped.append(record.getMessage())
logging.getLogger("sharboard.metrics").addHandler(Dropped())
start = threading.Barrier(8)
def count():
    start.wait()
    metrics.shar_call("POST", "/api/v1/workflows/W/instances", 0.01)
threads = [threading.Thread(target=count) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(dropped))
"""


def test_threads_counting_for_the_first_time_at_once_lose_no_count() -> None:
    """A batch's SHAR calls run on threads; their first counts at once each declared the metrics,
    and all but one were dropped as duplicates."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_COUNTS_AT_ONCE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.split() == ["0"], done.stderr
