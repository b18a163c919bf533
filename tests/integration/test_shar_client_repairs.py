"""The client's repair calls (contract extensions): against the local engine over real HTTP, and how a
gateway that lacks a call is told from one that lacks the instance."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.shar import MoveResult, SharClient, SharNotFound, SharNotOffered, SharPermanentError
from app.shar.client import _error_for
from tests.support.factories import bpmn
from tests.support.servers import serving


@pytest.fixture
def client(shar) -> Iterator[SharClient]:  # type: ignore[no-untyped-def]
    c = SharClient(shar.url, timeout=5.0)
    yield c
    c.close()


def _name() -> str:
    return f"Repair-{uuid.uuid4().hex[:8]}"


def test_move_back_and_complete_again(client: SharClient) -> None:
    name = _name()
    client.create_workflow(name, bpmn("repair_v1"))
    launched = client.launch_instance(name, {"amount": 1})
    assert launched.workflow_version == 1
    client.complete_instance(launched.id)
    moved = client.move_instance(launched.id, ["check"], "enter", {"note": "again"})
    assert isinstance(moved, MoveResult) and (moved.left, moved.entered) == (("check",), ("enter",))
    assert moved.instance.current_activities == ("enter",) and moved.instance.variables["note"] == "again"
    client.complete_instance(launched.id)
    assert client.get_instance(launched.id).current_activities == ("check",)


def test_variables_and_migration(client: SharClient) -> None:
    name = _name()
    client.create_workflow(name, bpmn("repair_v1"))
    launched = client.launch_instance(name, {"amount": 1, "old": True})
    changed = client.set_variables(launched.id, {"amount": 3000}, ["old"])
    assert changed.variables == {"amount": 3000}
    assert client.create_workflow(name, bpmn("repair_v2"))["version"] == 2
    migrated = client.migrate_instance(launched.id, 2, {})
    assert migrated.workflow_version == 2 and migrated.current_activities == ("enter",)


def test_refusals_keep_their_types(client: SharClient) -> None:
    name = _name()
    client.create_workflow(name, bpmn("repair_v1"))
    launched = client.launch_instance(name, {"amount": 1})
    with pytest.raises(SharNotFound):
        client.move_instance("no-such-instance", ["enter"], "check")
    with pytest.raises(SharPermanentError) as conflict:
        client.move_instance(launched.id, ["ship"], "check")
    assert conflict.value.status == 409 and not isinstance(conflict.value, SharNotOffered)
    with pytest.raises(SharPermanentError) as refused:
        client.move_instance(launched.id, ["enter"], "nowhere")
    assert refused.value.status == 422 and "not an element" in refused.value.message


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(501, text="not implemented"), SharNotOffered),
        (httpx.Response(405, text="Method Not Allowed"), SharNotOffered),
        (httpx.Response(404, text="404 page not found"), SharNotOffered),
        (httpx.Response(404, json={"message": "no route"}), SharNotOffered),
        (httpx.Response(404, json={"error": "instance x not found"}), SharNotFound),
        (httpx.Response(422, json={"error": "cannot"}), SharPermanentError),
    ],
)
def test_not_offered_is_told_from_not_found(response: httpx.Response, kind: type) -> None:
    error = _error_for(response, "POST /api/v1/instances/x/move", "move")
    assert type(error) is kind and error.status == response.status_code
    if kind is SharNotOffered:
        assert error.call == "move" and "does not offer move" in error.message  # type: ignore[attr-defined]


def test_without_a_call_name_a_404_stays_not_found() -> None:
    # The base contract's calls: a gateway's plain 404 is still "no such workflow or instance".
    assert type(_error_for(httpx.Response(404, text="404 page not found"), "GET /api/v1/instances/x")) is SharNotFound


class _BaseOnlyGateway(BaseHTTPRequestHandler):
    """A gateway with Go's default router: unknown paths are a text 404, a known path with another
    method a 405, and the instance route knows only GET."""

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/migrate"):
            self._answer(501, b'{"error": "not implemented"}', "application/json")
        else:
            self._answer(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def do_PATCH(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(405, b"Method Not Allowed\n", "text/plain; charset=utf-8")

    def log_message(self, *args: object) -> None:
        pass


def test_a_gateway_without_the_calls_reads_as_not_offered() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BaseOnlyGateway)
    serving(server)
    client = SharClient(f"http://127.0.0.1:{server.server_port}", timeout=5.0)
    try:
        calls = {
            "move": lambda: client.move_instance("i-1", ["a"], "b"),
            "variables": lambda: client.set_variables("i-1", {"a": 1}, []),
            "migrate": lambda: client.migrate_instance("i-1", 2, {}),
        }
        for call, run in calls.items():
            with pytest.raises(SharNotOffered) as info:
                run()
            assert info.value.call == call and not info.value.retryable
    finally:
        client.close()
        server.shutdown()
        server.server_close()
