"""Prometheus metrics: what every process counts, and what is read when /metrics is scraped.

Counters and histograms (jobs, SHAR calls, deliveries) are written by whichever process does
the work (gunicorn workers, Huey consumers) into one multiprocess directory, and summed by the
scrape. Gauges that describe the system as a whole (queue depth, the oldest open job, instances
by status) are not counted anywhere: the scrape reads them (app.services.readiness).

prometheus_client decides at import whether values go to files, so it is imported only after
`configure` has set PROMETHEUS_MULTIPROC_DIR (create_app calls it first). Counting never fails
the work it counts: an error writing a metric is logged and dropped.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

logger = logging.getLogger("sharboard.metrics")
ENV = "PROMETHEUS_MULTIPROC_DIR"
# SHAR paths become templates: one label value per endpoint, never one per instance or name.
_PATH_IDS = re.compile(r"^(/api/v1/(?:workflows|instances))/[^/]+")
_directory: list[Path] = []  # the directory configure chose for this process


def configure(directory: Path) -> None:
    """Count into `directory` (Settings.metrics_dir). Written to the environment because that is
    where prometheus_client, and every process this one starts, read it."""
    if _directory and _directory[0] != directory:
        return  # decided once per process: the counts already written stay where they are
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(directory)
    _directory[:] = [directory]


def reset_directory() -> None:
    """Empty this process's directory before a stack starts (`flask shar up`): the files of a
    previous run's processes would otherwise be summed into this run's counts."""
    for directory in _directory:
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)


def prepare() -> None:
    """Import prometheus_client and declare the metrics now (`configure` has run): a process that
    forks workers does it once for all of them, instead of each on its first count (13 ms of CPU).
    Values are still written per process: prometheus_client notices the fork by the pid."""
    _metrics()


_declaring = threading.Lock()


def _metrics() -> dict[str, Any]:
    # Under a lock: threads counting for the first time at once (a batch's SHAR calls, gunicorn's
    # threads) would each declare the metrics, and all but one would fail as duplicates.
    with _declaring:
        return _declared()


@cache
def _declared() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "jobs": Counter(
            "sharboard_jobs", "Job attempts by kind and outcome (succeeded, retried, failed)", ["job_type", "outcome"]
        ),
        "job_seconds": Histogram(
            "sharboard_job_duration_seconds",
            "Time one job attempt took, by kind",
            ["job_type"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        ),
        "shar_seconds": Histogram(
            "sharboard_shar_request_duration_seconds",
            "SHAR calls by endpoint",
            ["method", "endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        ),
        "shar_errors": Counter(
            "sharboard_shar_errors",
            "SHAR calls that failed, by endpoint and kind (timeout, unreachable, http_4xx, http_5xx, bad_body)",
            ["method", "endpoint", "kind"],
        ),
        "deliveries": Counter(
            "sharboard_deliveries", "Webhook and e-mail delivery attempts by outcome", ["kind", "outcome"]
        ),
        "listener_failures": Counter(
            "sharboard_listener_failures",
            "Event listeners that raised (built-in and plug-ins'), by event and listener",
            ["event", "listener"],
        ),
    }


def _safely(update: Any) -> None:
    try:
        update()
    except Exception:  # noqa: BLE001 - a metric must never fail the job or call it counts
        logger.warning("metric not recorded", exc_info=True)


def job_attempt(job_type: str, outcome: str, seconds: float, *, delivers: str | None = None) -> None:
    """One attempt of a job ended: `outcome` is succeeded, retried or failed; a job that
    `delivers` (webhook, email) counts as a delivery attempt too."""

    def update() -> None:
        metrics = _metrics()
        metrics["jobs"].labels(job_type, outcome).inc()
        metrics["job_seconds"].labels(job_type).observe(seconds)
        if delivers is not None:
            metrics["deliveries"].labels(delivers, outcome).inc()

    _safely(update)


def shar_call(method: str, path: str, seconds: float, error: str | None = None) -> None:
    """One SHAR call ended, answered or not; `error` names how it failed."""
    endpoint = _PATH_IDS.sub(r"\1/{id}", path)

    def update() -> None:
        metrics = _metrics()
        metrics["shar_seconds"].labels(method, endpoint).observe(seconds)
        if error is not None:
            metrics["shar_errors"].labels(method, endpoint, error).inc()

    _safely(update)


def listener_failed(event: str, listener: str) -> None:
    """An event listener raised (app.lifecycle.events.fire isolated it); `listener` names its code,
    so the label's values are bounded by the code loaded, never by the data."""
    _safely(lambda: _metrics()["listener_failures"].labels(event, listener).inc())


def exposition(gauges: Iterable[tuple[str, str, list[tuple[dict[str, str], float]]]]) -> tuple[bytes, str]:
    """The text a scrape reads: every process's counters, plus `gauges` read now as
    (name, help, [(labels, value), ...])."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    registry = CollectorRegistry()
    if _directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:  # one process (no directory configured): its own counters
        from prometheus_client import REGISTRY

        registry = REGISTRY
    families = []
    for name, help_text, samples in gauges:
        labels = sorted({key for sample_labels, _ in samples for key in sample_labels})
        family = GaugeMetricFamily(name, help_text, labels=labels)
        for sample_labels, value in samples:
            family.add_metric([sample_labels.get(key, "") for key in labels], value)
        families.append(family)
    return generate_latest(registry) + generate_latest(_Fixed(families)), CONTENT_TYPE_LATEST


class _Fixed:
    """A registry-like holder of metric families already read (generate_latest only collects)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families
