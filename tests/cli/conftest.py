"""CLI test helpers: `run("workflow", "list", ...)` invokes `flask shar ...` on the test app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask


def cli_runner(app: Flask) -> Callable[..., Any]:
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(args=["shar", *args], input=input)

    return invoke


@pytest.fixture
def run(app: Flask) -> Callable[..., Any]:
    return cli_runner(app)
