"""The SHAR client against the local engine over real HTTP: every call, and every error typed."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.shar import SharClient, SharNotFound, SharPermanentError, SharRetryableError, SharUnavailable
from tests.support.factories import bpmn
from tests.support.servers import free_port, serving


@pytest.fixture
def client(shar):  # type: ignore[no-untyped-def]
    c = SharClient(shar.url, timeout=2.0)
    yield c
    c.close()


def test_every_call_of_the_contract(client: SharClient) -> None:
    created = client.create_workflow("ClientFlow", bpmn("user_task"))
    assert created["name"] == "ClientFlow" and created["status"] == "created"
    assert "ClientFlow" in [w["name"] for w in client.list_workflows()]
    assert client.get_workflow("ClientFlow")["status"] == "active"
    launched = client.launch_instance("ClientFlow", {"orderId": "1"})
    assert launched.status == "running" and launched.variables["orderId"] == "1"
    assert launched.id in [i.id for i in client.list_instances()]
    read = client.get_instance(launched.id)
    assert read.current_activities == ("review",)  # the extension, detected and used
    assert client.complete_instance(launched.id)["message"]
    assert client.get_instance(launched.id).status == "completed"
    assert client.delete_workflow("ClientFlow")["message"]
    assert client.health().healthy


def test_unknown_instance_is_not_found(client: SharClient) -> None:
    with pytest.raises(SharNotFound) as info:
        client.get_instance("no-such-instance")
    assert info.value.status == 404 and "not found" in info.value.message


def test_conflict_is_permanent(client: SharClient) -> None:
    client.create_workflow("Quick", bpmn("parallel"))
    done = client.launch_instance("Quick", {})
    with pytest.raises(SharPermanentError) as info:
        client.complete_instance(done.id)
    assert info.value.status == 409 and not info.value.retryable


def test_outage_raises_the_retryable_error(client: SharClient, shar) -> None:  # type: ignore[no-untyped-def]
    shar.set_faults(outage=True)
    with pytest.raises(SharRetryableError) as info:
        client.create_workflow("Down", bpmn("user_task"))
    assert info.value.status == 503 and "outage" in info.value.message
    assert not client.health().healthy


def test_refused_connection_and_timeout_are_retryable(shar) -> None:  # type: ignore[no-untyped-def]
    nobody = SharClient(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(SharRetryableError, match="unreachable"):
        nobody.list_workflows()
    assert nobody.health().status == "unreachable"
    shar.set_faults(latency_ms=1500)
    slow = SharClient(shar.url, timeout=0.5)
    with pytest.raises(SharRetryableError, match="in time"):
        slow.list_workflows()


def test_answer_off_the_contract_is_permanent(shar) -> None:  # type: ignore[no-untyped-def]
    from tests.support.servers import WebhookReceiver

    # A server that answers 200 with a body that is not the contract's shape.
    odd = WebhookReceiver()
    try:
        with pytest.raises(SharPermanentError, match="contract"):
            SharClient(odd.url("")).create_workflow("X", "<x/>")
    finally:
        odd.stop()


def test_a_refused_bpmn_is_permanent_with_the_engines_reason(client: SharClient) -> None:
    with pytest.raises(SharPermanentError) as info:
        client.create_workflow("Evil", bpmn("script_task"))
    assert info.value.status == 422 and not info.value.retryable
    assert "script tasks are not allowed" in info.value.message and "line" in info.value.message


def test_a_refused_launch_is_permanent(client: SharClient) -> None:
    client.create_workflow("Diagram", bpmn("user_task").replace('isExecutable="true"', 'isExecutable="false"'))
    with pytest.raises(SharPermanentError) as info:
        client.launch_instance("Diagram", {})
    assert info.value.status == 422 and "isExecutable" in info.value.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, SharPermanentError),
        (401, SharPermanentError),
        (403, SharPermanentError),
        (409, SharPermanentError),
        (410, SharPermanentError),
        (413, SharPermanentError),
        (422, SharPermanentError),
        (404, SharNotFound),
        (408, SharRetryableError),
        (500, SharRetryableError),
        # SHAR as a whole cannot serve: an outage, whose jobs are held rather than failed (app.jobs.outage).
        (429, SharUnavailable),
        (502, SharUnavailable),
        (503, SharUnavailable),
        (504, SharUnavailable),
    ],
)
def test_statuses_are_classified_permanent_retryable_or_outage(status: int, kind: type) -> None:
    from app.shar.client import _error_for

    response = httpx.Response(status, json={"error": f"answer {status}"})
    error = _error_for(response, "POST /api/v1/workflows")
    assert type(error) is kind and error.status == status and error.message == f"answer {status}"
    assert error.retryable is issubclass(kind, SharRetryableError)


def test_transport_failures_are_outages_saying_whether_the_request_may_have_been_sent() -> None:
    """Refused: never sent. Cut off mid-answer or timed out: it may have reached SHAR."""
    port = free_port()  # nobody listens on it
    with pytest.raises(SharUnavailable) as refused:
        SharClient(f"http://127.0.0.1:{port}", timeout=2).list_workflows()
    assert refused.value.sent is False and "unreachable" in refused.value.message

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(1.0)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    serving(server)
    try:
        with pytest.raises(SharUnavailable) as slow:
            SharClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=0.2).list_workflows()
        assert slow.value.sent is True and "in time" in slow.value.message
    finally:
        server.shutdown()
        server.server_close()


def test_variables_from_shar_holding_nul_are_kept_storable() -> None:
    # U+0000 is valid JSON, but PostgreSQL stores it nowhere: what SHAR sends is kept with U+FFFD
    # in its place (a sync never fails on it); what users send is refused (app.core.json_input).
    body = json.dumps(
        {"id": "i-1", "status": "running", "variables": {"note": "a\u0000b", "k\u0000": ["\u0000"]}}
    ).encode()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    serving(server)
    try:
        read = SharClient(f"http://127.0.0.1:{server.server_port}").get_instance("i-1")
    finally:
        server.shutdown()
        server.server_close()
    assert read.variables == {"note": "a\ufffdb", "k\ufffd": ["\ufffd"]}
