"""Fault injection for tests and benchmarks: added latency, an error rate, an outage switch."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    outage: bool = False

    def update(self, **values: Any) -> None:
        if "latency_ms" in values:
            self.latency_ms = max(int(values["latency_ms"]), 0)
        if "error_rate" in values:
            self.error_rate = min(max(float(values["error_rate"]), 0.0), 1.0)
        if "outage" in values:
            self.outage = bool(values["outage"])

    def should_fail(self) -> bool:
        return self.error_rate > 0 and random.random() < self.error_rate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Every /api/v1 request with its time and answer: lets tests count attempts and waits."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, **entry: Any) -> None:
        with self._lock:
            self._entries.append(entry)
            del self._entries[:-10_000]

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
