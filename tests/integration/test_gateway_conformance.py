"""The conformance suite itself (app/shar/conformance): what it reads on a gateway with only the base
contract, on one that answers a base call or an extension wrongly, and on one that is not there.
(The local engine passing every check is tests/contract, run by the normal suite.)"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bpmn.validation import validate_bpmn
from app.core.errors import InvalidInput, PermissionDenied
from app.models import User
from app.services.actors import CLI
from app.services.gateway_checks import check_gateway
from app.shar.conformance import CHECKS, FAILED, NOT_OFFERED, PASSED, SKIPPED, Report, Result, run_checks
from app.shar.conformance.probe import DOCUMENTS, rfc3339
from tests.support.gateways import ServedGateway, base_gateway
from tests.support.servers import free_port

BASE_CHECKS = [c.name for c in CHECKS if c.base]
EXTENSION_CHECKS = [c.name for c in CHECKS if not c.base]


def _outcomes(report: Report) -> dict[str, str]:
    return {r.name: r.outcome for r in report.results}


def _result(report: Report, name: str) -> Result:
    return next(r for r in report.results if r.name == name)


@pytest.fixture
def served() -> Iterator[list[ServedGateway]]:
    gateways: list[ServedGateway] = []
    yield gateways
    for gateway in gateways:
        gateway.stop()


def _serve(served: list[ServedGateway], flaw: str | None = None) -> str:
    gateway = ServedGateway(base_gateway(flaw))
    served.append(gateway)
    return gateway.url


def test_a_base_only_gateway_passes_the_base_and_offers_no_extension(served: list[ServedGateway]) -> None:
    report = run_checks(_serve(served), timeout=5, settle=0.3)
    outcomes = _outcomes(report)
    assert {n: outcomes[n] for n in BASE_CHECKS} == dict.fromkeys(BASE_CHECKS, PASSED)
    assert {n: outcomes[n] for n in EXTENSION_CHECKS} == dict.fromkeys(EXTENSION_CHECKS, NOT_OFFERED)
    assert report.ok and report.leftovers == ()
    # A call's "not offered" quotes the router's answer; a field's names what is missing.
    move = _result(report, "move")
    assert move.request.startswith("POST /api/v1/instances/") and move.answer.startswith("HTTP 404")
    assert "current_activities" in _result(report, "current_activities").detail
    assert (
        "through current_activities, which this gateway does not offer" in _result(report, "launch_process_id").detail
    )


def test_a_launch_without_an_id_fails_with_the_answer_quoted_and_what_needs_it_is_skipped(
    served: list[ServedGateway],
) -> None:
    report = run_checks(_serve(served, "launch_without_id"), timeout=5, settle=0.3)
    launch = _result(report, "launch")
    assert launch.outcome == FAILED and "lacks id" in launch.detail
    assert launch.request.startswith("POST /api/v1/workflows/sharboard-conformance-")
    assert launch.answer.startswith("HTTP 201 {") and '"status":"running"' in launch.answer.replace(" ", "")
    outcomes = _outcomes(report)
    assert outcomes["get_instance"] == outcomes["complete"] == outcomes["variables"] == SKIPPED
    assert outcomes["move"] == SKIPPED  # needs complete, which needs launch
    assert "launch" in _result(report, "get_instance").detail
    assert outcomes["health"] == outcomes["create_workflow"] == outcomes["delete_workflow"] == PASSED
    assert not report.ok


def test_an_extension_offered_but_answered_off_the_contract_fails(served: list[ServedGateway]) -> None:
    report = run_checks(_serve(served, "move_off_contract"), timeout=5, settle=0.3)
    move = _result(report, "move")
    assert move.outcome == FAILED and "lacks instance, left, entered" in move.detail
    assert move.answer == 'HTTP 200 {"moved":true}'
    assert {n: o for n, o in _outcomes(report).items() if n in BASE_CHECKS} == dict.fromkeys(BASE_CHECKS, PASSED)
    assert not report.ok


def test_nothing_listening_fails_the_base_with_the_transport_error() -> None:
    report = run_checks(f"http://127.0.0.1:{free_port()}", timeout=2, settle=0)
    health = _result(report, "health")
    assert health.outcome == FAILED and health.answer.startswith("no answer (ConnectError")
    assert _outcomes(report)["launch"] == SKIPPED and not report.ok


def test_the_local_engine_passes_every_check_and_leaves_nothing(engine_server: Any) -> None:
    report = run_checks(engine_server.url)
    assert _outcomes(report) == {c.name: PASSED for c in CHECKS}, report.as_dict()
    names = [w["name"] for w in httpx.get(f"{engine_server.url}/api/v1/workflows").json()]
    assert not [n for n in names if report.run in n]


def test_runs_use_their_own_names() -> None:
    first, second = (run_checks(f"http://127.0.0.1:{free_port()}", timeout=1, settle=0) for _ in range(2))
    assert first.run != second.run


@pytest.mark.parametrize("document", sorted(p.stem for p in DOCUMENTS.glob("*.bpmn")))
def test_its_documents_are_as_shar_accepts_them(document: str) -> None:
    """Zeebe-flavoured and within SHAR's parser's rules, as sharboard's own upload check reads them."""
    summary = validate_bpmn((DOCUMENTS / f"{document}.bpmn").read_text().replace("@RUN@", "0a1b2c3d"))
    assert summary.shar_warnings == () and summary.not_executed == ()


def test_rfc3339_reads_as_the_contract_means() -> None:
    assert rfc3339("2026-01-02T03:04:05Z") and rfc3339("2026-01-02T03:04:05.123456+02:00")
    assert not rfc3339("2026-01-02 03:04") and not rfc3339("yesterday") and not rfc3339(None)
    assert not rfc3339("2026-13-02T03:04:05Z")


def test_the_suite_ships_its_documents() -> None:
    """The documents are package data (pyproject.toml), so an installed sharboard can run the suite."""
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"app.shar.conformance" = ["documents/*.bpmn"]' in pyproject
    assert hashlib.sha256((DOCUMENTS / "steps.bpmn").read_bytes()).hexdigest()


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_only_an_admin_may_check_a_gateway(role: str) -> None:
    """The suite creates workflows on the gateway it is given: an admin's decision (the CLI is one)."""
    with pytest.raises(PermissionDenied):
        check_gateway("http://127.0.0.1:9", actor=User(email="ann@example.com", name="ann", role=role))


@pytest.mark.parametrize(("url", "timeout"), [("ftp://gateway", 10.0), ("http://", 10.0), ("http://gw", 0.0)])
def test_the_service_refuses_what_is_not_a_gateway_url_or_a_timeout(url: str, timeout: float) -> None:
    with pytest.raises(InvalidInput):
        check_gateway(url, actor=CLI, timeout=timeout)
