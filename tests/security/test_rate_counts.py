"""Rate-limit counts sent to Redis in batches (app.security.rate_counts), against the real Redis:
two storages stand for two web processes sharing one count."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from app.security.rate_counts import BatchedRedisStorage, storage_uri
from tests.support.stack import REDIS_URL

pytestmark = pytest.mark.services  # the shared Redis, reached without a fixture


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"t-rate-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


def _process() -> BatchedRedisStorage:
    return BatchedRedisStorage(storage_uri(REDIS_URL))


def _admitted(limiters: list[FixedWindowRateLimiter], limit: str, namespace: str, hits: int) -> int:
    item = parse(limit)
    return sum(limiters[n % len(limiters)].hit(item, namespace, "token:a") for n in range(hits))


def _shared_count(namespace: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    return sum(int(client.get(key) or 0) for key in client.scan_iter(f"*{namespace}*"))


def test_a_small_limit_is_counted_exactly_across_processes(namespace: str) -> None:
    limiters = [FixedWindowRateLimiter(_process()) for _ in range(2)]
    assert _admitted(limiters, "10 per minute", namespace, 30) == 10
    assert _shared_count(namespace) == 30  # every hit reached Redis at once


def test_a_generous_limit_is_sent_in_batches_and_still_holds(namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    original = BatchedRedisStorage.__mro__[1].incr  # RedisStorage.incr: what reaches Redis

    def counted(self, key, expiry, amount=1):  # type: ignore[no-untyped-def]
        sent.append(amount)
        return original(self, key, expiry, amount)

    monkeypatch.setattr(BatchedRedisStorage.__mro__[1], "incr", counted)
    alone = FixedWindowRateLimiter(_process())
    assert _admitted([alone], "600 per minute", namespace, 700) == 600  # one process: never past its limit
    assert len(sent) < 700 / 2 and sum(sent) <= 700  # batches of 6, then one call a hit near the limit
    sent.clear()

    two = [FixedWindowRateLimiter(_process()) for _ in range(2)]
    admitted = _admitted(two, "600 per minute", namespace + "-2", 700)
    assert 600 <= admitted <= 605  # the other process holds back under one batch (6)
    assert len(sent) < 700 / 2


def test_what_is_held_back_ends_with_its_window(namespace: str) -> None:
    limiter = FixedWindowRateLimiter(_process())
    item = parse("300 per 1 second")
    assert sum(limiter.hit(item, namespace, "token:a") for _ in range(300)) == 300
    assert not limiter.hit(item, namespace, "token:a")
    time.sleep(1.2)  # the window's key expires in Redis; the process's own view with it
    assert limiter.hit(item, namespace, "token:a")


def test_other_urls_are_left_to_flask_limiter() -> None:
    assert storage_uri("redis://127.0.0.1:6379/3") == "sharboard+redis://127.0.0.1:6379/3"
    assert storage_uri("rediss://h:1/0") == "sharboard+rediss://h:1/0"
    assert storage_uri("") == "memory://"
    assert storage_uri("redis+unix:///tmp/r.sock") == "redis+unix:///tmp/r.sock"


def test_the_app_counts_its_limits_through_the_batched_storage(app) -> None:  # type: ignore[no-untyped-def]
    """The saving is in the wiring: an app on Redis must not fall back to a script call per request."""
    from app.security.rate_limits import current_limiter

    assert isinstance(current_limiter().storage, BatchedRedisStorage)
