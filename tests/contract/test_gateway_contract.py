"""One test per conformance check (app/shar/conformance): passed, failed with the answer it got,
or, for an extension a gateway given with --gateway-url does not offer, skipped with the reason.
The local engine (no option) offers every extension, so there each check must pass."""

from __future__ import annotations

import pytest

from app.shar.conformance import CHECKS, NOT_OFFERED, PASSED, SKIPPED, Report


@pytest.mark.parametrize("name", [c.name for c in CHECKS])
def test_check(name: str, conformance_report: Report, foreign_gateway: str | None) -> None:
    result = next(r for r in conformance_report.results if r.name == name)
    got = f" (got: {result.request} -> {result.answer})" if result.request else ""
    if foreign_gateway and result.outcome == NOT_OFFERED:
        pytest.skip(f"not offered by {foreign_gateway}: {result.detail}")
    if foreign_gateway and result.outcome == SKIPPED:
        pytest.skip(result.detail)
    if result.outcome != PASSED:
        pytest.fail(
            f"{result.outcome}: {result.part} check {name} ({result.reference}): {result.detail}{got}", pytrace=False
        )
