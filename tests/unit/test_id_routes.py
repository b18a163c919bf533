"""The id converter's pattern: every number up to the column's limit matches, none above it (so a path
with an id too large matches no rule, whatever the method: 404, never 405 or an overflow)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from app.core.routing import MAX_ID, at_most

LIMITS = (0, 1, 5, 9, 10, 99, 100, 305, 1000, MAX_ID, 2**63 - 1)


@given(st.sampled_from(LIMITS), st.integers(min_value=0, max_value=10**20))
def test_the_pattern_matches_exactly_the_numbers_up_to_the_limit(limit: int, number: int) -> None:
    assert bool(re.fullmatch(at_most(limit), str(number))) == (number <= limit)


def test_the_edges() -> None:
    for limit in LIMITS:
        pattern = re.compile(at_most(limit))
        assert pattern.fullmatch(str(limit)) and not pattern.fullmatch(str(limit + 1))
        assert pattern.fullmatch("0")
