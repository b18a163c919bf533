"""Small SHAR gateways for the conformance suite's own tests: one with only the base contract, as the
reference gateway has it (its list endpoints and a single instance's status are stubs there too),
and the same with one answer wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.support.servers import serving

# What can be wrong with a gateway: its launch answer lacks the id (a base call), or it offers move but
# answers it with another shape (an extension).
FLAWS = ("launch_without_id", "move_off_contract")


def base_gateway(flaw: str | None = None) -> Flask:
    """The base contract only: every extension call is an unknown route (Flask's 404 page, not JSON)."""
    app = Flask("base-gateway")
    workflows: dict[str, str] = {}
    instances: dict[str, dict[str, Any]] = {}

    def error(status: int, message: str) -> Any:
        return jsonify({"error": message}), status

    @app.post("/api/v1/workflows")
    def create() -> Any:
        data = request.get_json(silent=True)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("name"), str)
            or not isinstance(data.get("bpmn_xml"), str)
        ):
            return error(400, "name and bpmn_xml are required")
        workflows[data["name"]] = data["bpmn_xml"]
        return jsonify({"id": data["name"], "name": data["name"], "status": "created"}), 201

    @app.get("/api/v1/workflows")
    def list_workflows() -> Any:
        return jsonify([])  # a stub, as the reference gateway's

    @app.get("/api/v1/workflows/<name>")
    def get_workflow(name: str) -> Any:
        if name not in workflows:
            return error(404, "workflow not found")
        return jsonify({"id": name, "name": name, "status": "active"})

    @app.delete("/api/v1/workflows/<name>")
    def delete_workflow(name: str) -> Any:
        workflows.pop(name, None)
        return jsonify({"message": "workflow deleted"})

    @app.post("/api/v1/workflows/<name>/instances")
    def launch(name: str) -> Any:
        if name not in workflows:
            return error(500, "the engine refused the launch")
        data = request.get_json(silent=True) or {}
        instance = {
            "id": str(uuid.uuid4()),
            "workflow_name": name,
            "status": "running",
            "variables": data.get("variables") or {},
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        instances[instance["id"]] = instance
        if flaw == "launch_without_id":
            return jsonify({k: v for k, v in instance.items() if k != "id"}), 201
        return jsonify(instance), 201

    @app.get("/api/v1/instances")
    def list_instances() -> Any:
        return jsonify([])

    @app.get("/api/v1/instances/<instance_id>")
    def get_instance(instance_id: str) -> Any:
        known = instances.get(instance_id)
        # The reference reads every instance as running; it knows nothing more.
        return jsonify(
            known or {"id": instance_id, "workflow_name": "", "status": "running", "variables": {}, "created_at": None}
        )

    @app.post("/api/v1/instances/<instance_id>/complete")
    def complete(instance_id: str) -> Any:
        return jsonify({"message": "task completed"})

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "healthy", "timestamp": datetime.now(UTC).isoformat(), "version": "base-1"})

    if flaw == "move_off_contract":

        @app.post("/api/v1/instances/<instance_id>/move")
        def move(instance_id: str) -> Any:
            return jsonify({"moved": True})

    return app


class ServedGateway:
    """A gateway app on a real socket, on a background thread."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = serving(self._server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
