"""How many worker processes `flask shar up` gives each queue's consumer when --workers is not set."""

from __future__ import annotations

import pytest

from app.cli import stack


@pytest.mark.parametrize(("cores", "instances", "others"), [(1, 4, 2), (2, 8, 2), (4, 16, 4), (32, 16, 32)])
def test_the_instance_queue_gets_four_per_core_up_to_sixteen(
    monkeypatch: pytest.MonkeyPatch, cores: int, instances: int, others: int
) -> None:
    monkeypatch.setattr(stack.os, "cpu_count", lambda: cores)
    assert stack.default_workers(instance_queue=True) == instances
    assert stack.default_workers() == others
