"""Rate-limit counts kept in Redis, sent in small batches for generous limits.

Counting each API call in Redis (Flask-Limiter's fixed window: one script call per request)
was a fifth of an unchanged API read's CPU. Here a process adds hits to a limit's shared
count in batches of a hundredth of the limit (600 a minute: 6), and answers in between from
the count it last read plus its own hits since (at most 20 hits a batch, so a process reads the
shared count at least every 20 of its own calls). Within one batch of the limit, and for any limit
under 200 (sign-in: 10 per 15 minutes), every hit goes to Redis at once, so a process never
lets its own calls past a limit; what other processes hold back (under a batch each) can let
a token make up to about 1 % more calls than its limit before it is refused. Hits held back by
a process that stops are not counted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from limits.storage import RedisStorage

SCHEME = "sharboard+"
BATCH_FRACTION = 100  # a batch is this fraction of the limit...
MAX_BATCH = 20  # ...and at most this many hits: a process reads the shared count at least every 20 of its own
MAX_KEYS = 10_000  # a bound on what a process keeps: beyond it, ended windows are forgotten


@dataclass
class _Window:
    counted: int  # the shared count, as last read from Redis
    held: int  # this process's hits since, not yet sent
    ends: float  # time.monotonic() when the window's key expires


class BatchedRedisStorage(RedisStorage):
    STORAGE_SCHEME = [SCHEME + "redis", SCHEME + "rediss"]

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(SCHEME), **options)
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        limit = _limit_of(key)
        batch = min(limit // BATCH_FRACTION, MAX_BATCH) if limit else 0
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now >= window.ends:
                window = None  # its key expired in Redis, and what was held back with it
            if (
                window is not None
                and limit is not None
                and window.held + amount < batch
                and window.counted + window.held + amount + batch <= limit
            ):
                window.held += amount
                return window.counted + window.held
            held = window.held if window is not None else 0
            if window is not None:
                window.held = 0  # sent now: another thread must not send it again
        try:
            counted = super().incr(key, expiry, amount=held + amount)
        except Exception:
            with self._lock:
                if window is not None:
                    window.held += held  # not sent: kept for the next try
            raise
        if batch > 1:
            self._keep(key, counted, held + amount, expiry, now)
        return counted

    def get(self, key: str) -> int:
        with self._lock:
            window = self._windows.get(key)
            held = window.held if window is not None and time.monotonic() < window.ends else 0
        return super().get(key) + held

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
        super().clear(key)

    def reset(self) -> int | None:
        with self._lock:
            self._windows.clear()
        return super().reset()

    def _keep(self, key: str, counted: int, sent: int, expiry: int, now: float) -> None:
        """Remember the shared count just read (counts only grow within a window)."""
        with self._lock:
            if self._update(key, counted, now):
                return
        if counted == sent:  # this call created the key: the window ends `expiry` from now
            ends = now + expiry
        else:  # a window begun elsewhere: when it ends is read once
            ends = now + max(0.0, super().get_expiry(key) - time.time())
        with self._lock:
            if self._update(key, counted, now):
                return
            if len(self._windows) >= MAX_KEYS:
                for ended in [k for k, w in self._windows.items() if now >= w.ends]:
                    del self._windows[ended]
            self._windows[key] = _Window(counted, 0, ends)

    def _update(self, key: str, counted: int, now: float) -> bool:  # under the lock
        kept = self._windows.get(key)
        if kept is None or now >= kept.ends:
            return False
        kept.counted = max(kept.counted, counted)
        return True


def _limit_of(key: str) -> int | None:
    """The limit's amount, from the key limits builds: …/<amount>/<multiples>/<granularity>."""
    parts = key.rsplit("/", 3)
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None


def storage_uri(redis_url: str) -> str:
    """Flask-Limiter's storage for a Redis URL: batched counts for redis:// and rediss://."""
    if redis_url.startswith(("redis://", "rediss://")):
        return SCHEME + redis_url
    return redis_url or "memory://"
