"""sharlite's HTTP face: the gateway contract, plus /_sharlite/* controls for tests.

One blueprint of short handlers over the engine; the engine, the faults and the request log are
the app's (`current_app.extensions["sharlite"]`), so every handler reads the same three.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.serving import make_server

from app.sharlite.bpmn_loader import RefusedBpmn
from app.sharlite.engine import (
    CannotComplete,
    Engine,
    NoMessageWaiting,
    NotFound,
    NothingToComplete,
)
from app.sharlite.errors import CannotRepair, RepairConflict
from app.sharlite.faults import Faults, RequestLog
from app.sharlite.store import Store

VERSION = "sharlite-1.0"
logger = logging.getLogger("sharlite")

gateway = Blueprint("gateway", __name__)

# The engine's errors as answers: the name is unknown, nothing waits for it, the task refused.
_ENGINE_ERRORS: dict[type[Exception], int] = {
    NotFound: 404,
    NothingToComplete: 409,
    NoMessageWaiting: 409,
    CannotComplete: 422,
    RepairConflict: 409,
    CannotRepair: 422,
}


@dataclass(frozen=True)
class Sharlite:
    """What the handlers serve and record: kept on the app, so handlers need no closures."""

    engine: Engine
    faults: Faults
    log: RequestLog


def create_engine_app(engine: Engine, faults: Faults, log: RequestLog) -> Flask:
    """The Flask app serving one engine."""
    app = Flask("sharlite")
    app.extensions["sharlite"] = Sharlite(engine, faults, log)
    app.register_blueprint(gateway)
    return app


def _sharlite() -> Sharlite:
    return current_app.extensions["sharlite"]


def _engine() -> Engine:
    return _sharlite().engine


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _health(status: str) -> dict[str, Any]:
    return {"status": status, "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "version": VERSION}


def answers_engine_errors(refused: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer the engine's errors raised by the handler; RefusedBpmn is 422 "<refused> refused: ..."
    where the handler names what is refused (elsewhere it is not expected, and stays a 500)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answered(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except tuple(_ENGINE_ERRORS) as exc:
                return error(next(s for kind, s in _ENGINE_ERRORS.items() if isinstance(exc, kind)), str(exc))
            except RefusedBpmn as exc:
                if refused is None:
                    raise
                return error(422, f"{refused} refused: {exc}")

        return answered

    return wrap


# -- faults and the request log: every request of the app, unknown paths included ------------
@gateway.before_app_request
def inject_faults() -> Any:
    g.started = time.time()
    if request.path.startswith("/_sharlite"):
        return None
    faults = _sharlite().faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.outage:
        if request.path == "/health":
            return jsonify(_health("unhealthy")), 503
        return error(503, "SHAR outage (injected)")
    if request.path.startswith("/api/") and faults.should_fail():
        return error(500, "injected fault")
    return None


@gateway.after_app_request
def record(response: Response) -> Response:
    if request.path.startswith("/api/"):
        _sharlite().log.add(method=request.method, path=request.path, status=response.status_code, time=g.started)
    return response


# -- workflows ---------------------------------------------------------------------------------
@gateway.post("/api/v1/workflows")
@answers_engine_errors("workflow")  # permanent: the same file will be refused again
def create_workflow() -> Any:
    data = body()
    if (
        data is None
        or not isinstance(data.get("name"), str)
        or not isinstance(data.get("bpmn_xml"), str)
        or not data["name"].strip()
    ):
        return error(400, "body must be JSON with string fields name and bpmn_xml")
    return jsonify(_engine().create_workflow(data["name"], data["bpmn_xml"])), 201


@gateway.get("/api/v1/workflows")
def list_workflows() -> Any:
    return jsonify(_engine().workflows())


@gateway.get("/api/v1/workflows/<path:name>")
@answers_engine_errors()
def get_workflow(name: str) -> Any:
    return jsonify(_engine().workflow(name))


@gateway.delete("/api/v1/workflows/<path:name>")
@answers_engine_errors()
def delete_workflow(name: str) -> Any:
    _engine().delete_workflow(name)
    return jsonify({"message": f"workflow {name} deleted"})


# -- instances ---------------------------------------------------------------------------------
@gateway.post("/api/v1/workflows/<path:name>/instances")
@answers_engine_errors("launch")
def launch(name: str) -> Any:
    data = body()
    if data is None:
        return error(400, "body must be a JSON object")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        return error(400, "variables must be an object")
    process_id = data.get("process_id")  # contract extension: which process of the file to start
    if process_id is not None and not isinstance(process_id, str):
        return error(400, "process_id must be a string")
    message = data.get("message")  # contract extension: start at the message start event of this name
    if message is not None and (not isinstance(message, str) or not message.strip()):
        return error(400, "message must be a non-empty string")
    return jsonify(_engine().launch(name, variables, process_id or None, message.strip() if message else None)), 201


@gateway.get("/api/v1/instances")
def list_instances() -> Any:
    return jsonify(_engine().instances())


@gateway.get("/api/v1/instances/<instance_id>")
@answers_engine_errors()
def get_instance(instance_id: str) -> Any:
    return jsonify(_engine().instance(instance_id))


@gateway.post("/api/v1/instances/<instance_id>/complete")
@answers_engine_errors("completion")
def complete(instance_id: str) -> Any:
    data = body() or {}
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return error(400, "variables must be an object")
    task_id = _engine().complete(instance_id, variables)
    return jsonify({"message": f"task {task_id} completed"})


@gateway.post("/api/v1/instances/<instance_id>/messages")
@answers_engine_errors("message")
def deliver_message(instance_id: str) -> Any:
    """Contract extension: deliver a message {name, variables?} to the instance's waiting
    message start, catch event or receive task. 404 unknown instance, 409 nothing waits for it."""
    data = body()
    if data is None or not isinstance(data.get("name"), str) or not data["name"].strip():
        return error(400, "body must be JSON with a string field name (and an optional object variables)")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return error(400, "variables must be an object")
    name = data["name"].strip()
    caught = _engine().deliver_message(instance_id, name, variables)
    return jsonify(
        {"message": f"message {name} delivered", "caught_by": caught, "instance": _engine().instance(instance_id)}
    ), 202


# -- repairs (contract extensions: docs/gateway-extensions.md) -----------------------------------
def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


@gateway.post("/api/v1/instances/<instance_id>/move")
@answers_engine_errors("move")
def move_instance(instance_id: str) -> Any:
    """Remove the tokens at `from`, place one at `to` (with optional variables), run what can run."""
    data = body()
    if data is None or not _strings(data.get("from")) or not data["from"] or not isinstance(data.get("to"), str):
        return error(422, "body must be JSON with from (a non-empty list of element ids) and to (an element id)")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return error(422, "variables must be an object")
    return jsonify(_engine().move(instance_id, data["from"], data["to"], variables))


@gateway.patch("/api/v1/instances/<instance_id>/variables")
@answers_engine_errors("variables")
def set_variables(instance_id: str) -> Any:
    """Set and remove process variables where the instance's tokens stand; nothing else moves."""
    data = body()
    set_ = (data or {}).get("set") or {}
    remove = (data or {}).get("remove") or []
    if data is None or not isinstance(set_, dict) or not (remove == [] or _strings(remove)):
        return error(422, "body must be JSON with set (an object) and remove (a list of variable names)")
    if set(set_) & set(remove):
        return error(422, f"a variable cannot be both set and removed: {', '.join(sorted(set(set_) & set(remove)))}")
    return jsonify(_engine().set_variables(instance_id, set_, remove))


@gateway.post("/api/v1/instances/<instance_id>/migrate")
@answers_engine_errors("migration")
def migrate_instance(instance_id: str) -> Any:
    """Move a running instance to version `version` of its workflow, matching elements by id or `mapping`."""
    data = body()
    mapping = (data or {}).get("mapping") or {}
    version = (data or {}).get("version")
    if (
        data is None
        or not isinstance(version, int)
        or isinstance(version, bool)
        or not isinstance(mapping, dict)
        or not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in mapping.items())
    ):
        return error(422, "body must be JSON with version (a number) and mapping (old element id -> new element id)")
    return jsonify(_engine().migrate(instance_id, version, mapping))


# -- health and the test controls ----------------------------------------------------------------
@gateway.get("/health")
def health() -> Any:
    return jsonify(_health("healthy"))


@gateway.route("/_sharlite/faults", methods=["GET", "PUT"])
def fault_settings() -> Any:
    faults = _sharlite().faults
    if request.method == "PUT":
        faults.update(**(body() or {}))
    return jsonify(faults.as_dict())


@gateway.route("/_sharlite/requests", methods=["GET", "DELETE"])
def requests_log() -> Any:
    log = _sharlite().log
    if request.method == "DELETE":
        log.clear()
        return jsonify({"cleared": True})
    return jsonify(log.entries())


class EngineServer:
    """A sharlite on a background thread: for tests, benchmarks and the process launcher."""

    def __init__(
        self,
        db_path: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_delay: float = 0.0,
        latency_ms: int = 0,
        error_rate: float = 0.0,
        outage: bool = False,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.store = Store(db_path)
        self.engine = Engine(self.store, task_delay=task_delay, **(engine_options or {}))
        self.faults = Faults(latency_ms, error_rate, outage)
        self.log = RequestLog()
        self._server = make_server(host, port, create_engine_app(self.engine, self.faults, self.log), threaded=True)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EngineServer:
        self._threads = [
            # Polled every 50 ms for a stop (the default, 0.5 s, was how long every stop took).
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="sharlite-http"
            ),
            threading.Thread(target=self._advance, daemon=True, name="sharlite-timers"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(5)
        self.engine.close()
        self.store.close()

    def set_faults(self, **values: Any) -> None:
        self.faults.update(**values)

    def _advance(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.engine.tick()
            except Exception:
                logger.exception("advancing instances failed")
