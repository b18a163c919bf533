"""The small soak: 40 launches through the whole pipeline on PostgreSQL + a private Redis, with
5 % SHAR errors, a consumer SIGKILLed, Redis restarted and the engine killed for 10 s mid-run (bench/soak.py; the full
1,000-launch soak is `python -m bench.soak --launches 1000`, see docs/reliability.md)."""

from __future__ import annotations

import shutil

import pytest

from tests.support.databases import pg_available

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(not pg_available(), reason="needs PostgreSQL on 127.0.0.1:5432"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def test_small_soak_loses_nothing_duplicates_nothing_and_notifies_once() -> None:
    from bench.soak import run_soak

    result = run_soak(40, error_rate=0.05, workers=2, timeout=80.0, say=print, outage=10.0)
    assert result.consumers_killed == 1 and result.redis_restarts == 1
    # The engine was killed for 10 s half-way (far past every retry schedule at the soak's scale):
    # the work of that time was held, then ran; nothing of it failed.
    assert result.outage_seconds == 10.0 and result.launched_during_outage > 0 and result.held_at_most > 0
    assert result.settled_after_outage_seconds < 60, result
    assert result.lost == 0, result.problems
    assert result.duplicated == 0 and result.untracked_in_shar == 0, result.problems
    assert result.mismatched == 0, result.problems
    assert result.notices_not_one == 0
    assert result.failed == 0, result.problems
    assert result.completed == result.launches
