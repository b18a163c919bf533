"""The gateway conformance suite as tests: `pytest tests/contract --gateway-url URL` checks that
gateway; without the option (as in the normal suite) the local engine, which must pass every check."""

from __future__ import annotations

from typing import Any

import pytest

from app.shar.conformance import Report, run_checks


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gateway-url",
        default=None,
        help="check this SHAR gateway against the contract (tests/contract); default: the local engine",
    )
    parser.addoption("--gateway-timeout", type=float, default=10.0, help="seconds per request to --gateway-url")


@pytest.fixture(scope="session")
def foreign_gateway(request: pytest.FixtureRequest) -> str | None:
    """The --gateway-url given, if any (the option is read with a default: when this conftest is not
    loaded at start-up, pytest never parsed it)."""
    return request.config.getoption("--gateway-url", default=None)


@pytest.fixture(scope="session")
def conformance_report(request: pytest.FixtureRequest, foreign_gateway: str | None) -> Report:
    """Every check run once against the gateway; each test reads its check's outcome."""
    if foreign_gateway:
        return run_checks(foreign_gateway, timeout=request.config.getoption("--gateway-timeout", default=10.0))
    engine: Any = request.getfixturevalue("engine_server")
    return run_checks(engine.url)
