"""`flask shar gateway check URL`: the table, --format json, and the exit status (0 unless a check
failed; extensions not offered do not fail it, a failed extension does)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from app.shar.conformance import CHECKS
from tests.cli.conftest import cli_runner
from tests.support.gateways import ServedGateway, base_gateway


@pytest.fixture
def run(offline_app: Flask) -> Callable[..., Any]:
    return cli_runner(offline_app)


@pytest.fixture
def gateways() -> Iterator[Callable[[str | None], str]]:
    served: list[ServedGateway] = []

    def serve(flaw: str | None = None) -> str:
        served.append(ServedGateway(base_gateway(flaw)))
        return served[-1].url

    yield serve
    for gateway in served:
        gateway.stop()


def test_the_local_engine_passes_with_one_line_per_check(run: Callable[..., Any], engine_server: Any) -> None:
    result = run("gateway", "check", engine_server.url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["CHECK", "PART", "OUTCOME", "DETAIL"]
    rows = {line.split()[0]: line.split()[2] for line in lines[1 : 1 + len(CHECKS)]}
    assert rows == {c.name: "passed" for c in CHECKS}
    assert f"{len(CHECKS)} passed" in lines[-1]


def test_a_base_only_gateway_exits_0_with_extensions_not_offered(
    run: Callable[..., Any], gateways: Callable[[str | None], str]
) -> None:
    result = run("gateway", "check", gateways(None), "--timeout", "1")
    assert result.exit_code == 0, result.output
    move = next(line for line in result.output.splitlines() if line.startswith("move "))
    assert "not offered" in move and "got: POST /api/v1/instances/" in move and "HTTP 404" in move


def test_a_failed_base_call_exits_1_quoting_the_answer(
    run: Callable[..., Any], gateways: Callable[[str | None], str]
) -> None:
    result = run("gateway", "check", gateways("launch_without_id"), "--timeout", "1")
    assert result.exit_code == 1
    launch = next(line for line in result.output.splitlines() if line.startswith("launch "))
    assert "failed" in launch and "lacks id" in launch and "-> HTTP 201 {" in launch
    assert "error: " in result.output and "checks failed against" in result.output


def test_a_failed_extension_exits_1_too(run: Callable[..., Any], gateways: Callable[[str | None], str]) -> None:
    result = run("gateway", "check", gateways("move_off_contract"), "--timeout", "1", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output[: result.output.rindex("}") + 1])
    outcomes = {c["name"]: c["outcome"] for c in report["checks"]}
    assert outcomes["move"] == "failed" and outcomes["launch"] == "passed" and report["ok"] is False
    move = next(c for c in report["checks"] if c["name"] == "move")
    assert move["answer"] == 'HTTP 200 {"moved":true}' and move["part"] == "extension"
    assert move["reference"].endswith("gateway-extensions.md#move-post-apiv1instancesidmove")


def test_not_a_url_is_refused(run: Callable[..., Any]) -> None:
    result = run("gateway", "check", "localhost:8080")
    assert result.exit_code == 1 and "not an http(s) URL" in result.output
