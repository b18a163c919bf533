"""An idle queue worker waits for a message at most this long before it looks for a stop, so a
consumer asked to stop waits this long for each idle worker: Huey's 1 s, scaled by time_scale."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from app.jobs.queues import _build_huey


@pytest.mark.parametrize(("time_scale", "seconds"), [(1.0, 1.0), (0.5, 0.5), (0.01, 0.1)])
def test_an_idle_worker_reads_its_queue_for_a_second_scaled_by_time_scale(time_scale: float, seconds: float) -> None:
    huey = _build_huey("q", Settings(redis_url="redis://127.0.0.1:6379/15", time_scale=time_scale))
    assert huey.storage.read_timeout == seconds
