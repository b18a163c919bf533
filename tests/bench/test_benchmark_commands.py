"""Every benchmark in bench/ imports and parses its options, in the test run (running them is
test_benchmarks_run.py's, with --benchmarks): a renamed helper or a broken import fails here."""

from __future__ import annotations

import importlib
import sys

import pytest

from tests.support.stack import REPO

COMMANDS = sorted(p.stem for p in (REPO / "bench").glob("*.py") if p.stem not in ("__init__", "stack"))


def test_every_benchmark_is_found() -> None:
    assert {"launch_latency", "launch_throughput", "soak", "profile_web"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_benchmark_imports_and_answers_help(name: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    module = importlib.import_module(f"bench.{name}")
    monkeypatch.setattr(sys, "argv", [f"bench.{name}", "--help"])
    with pytest.raises(SystemExit) as exited:
        module.main()
    assert exited.value.code == 0
    assert "usage:" in capsys.readouterr().out
