"""The checks of the base contract (shar-gateway-api.md's table): what every gateway must answer.

The reference gateway's stubs pass: its lists may be empty and a single instance may always read
`running`, so nothing here relies on a list holding what was created or on a status moving on."""

from __future__ import annotations

from app.shar.conformance.catalog import check
from app.shar.conformance.probe import (
    BASE,
    BASE_DOC,
    Failed,
    Probe,
    expect_list,
    expect_object,
    expect_status,
    identifier,
    rfc3339,
    seg,
)

STATUSES = ("running", "completed", "failed")
LAUNCH_VARIABLES = {"note": "sharboard conformance"}


@check("health", "GET /health: 200 healthy (or 503 unhealthy) with status, timestamp, version", BASE, BASE_DOC)
def health(probe: Probe) -> str:
    exchange = probe.call("GET", "/health")
    if exchange.error:
        raise Failed("no answer", exchange)
    if exchange.status not in (200, 503):
        raise Failed("expected HTTP 200 (healthy) or 503 (unhealthy)", exchange)
    body = expect_object(exchange, "status", "timestamp", "version", what="the health answer")
    expected = "healthy" if exchange.status == 200 else "unhealthy"
    if body["status"] != expected:
        raise Failed(f"HTTP {exchange.status} with status {body['status']!r}, not {expected!r}", exchange)
    return f"{body['status']}, version {body['version']}"


@check("create_workflow", "POST /api/v1/workflows: 201 {id, name, status: created}", BASE, BASE_DOC)
def create_workflow(probe: Probe) -> str:
    name, xml, exchange = probe.create("steps", "steps")
    body = expect_object(exchange, "id", "name", "status", what="the create answer")
    if body["name"] != name or body["id"] != name or body["status"] != "created":
        raise Failed(f"expected id and name {name!r} and status 'created'", exchange)
    probe.state.update(workflow=name, workflow_xml=xml, created=body)
    return f"created {name}"


@check("bad_body_error", 'a body that is not JSON or lacks bpmn_xml: 400 {"error": "..."}', BASE, BASE_DOC)
def bad_body_error(probe: Probe) -> str:
    for raw in ("this is not JSON", '{"name": "' + probe.name("no-bpmn") + '"}'):
        exchange = probe.call("POST", "/api/v1/workflows", raw=raw)
        expect_status(exchange, 400, "a bad workflow body")
        body = expect_object(exchange, "error", what="the error answer")
        if not isinstance(body["error"], str) or not body["error"].strip():
            raise Failed("the error answer's error is not a message", exchange)
    return "both refused with 400 and an error"


@check(
    "get_workflow", "GET /api/v1/workflows/{name}: 200 {id, name, status: active}", BASE, BASE_DOC, ("create_workflow",)
)
def get_workflow(probe: Probe) -> str:
    name = probe.state["workflow"]
    exchange = probe.call("GET", f"/api/v1/workflows/{seg(name)}")
    expect_status(exchange, 200, "reading a workflow")
    body = expect_object(exchange, "id", "name", "status", what="the workflow")
    if body["name"] != name or body["status"] != "active":
        raise Failed(f"expected name {name!r} and status 'active'", exchange)
    probe.state["read"] = body
    return "active"


@check("list_workflows", "GET /api/v1/workflows: 200, a list of {id, name, status}", BASE, BASE_DOC)
def list_workflows(probe: Probe) -> str:
    exchange = probe.call("GET", "/api/v1/workflows")
    expect_status(exchange, 200, "listing workflows")
    items = expect_list(exchange, "the workflow list")
    if any(not isinstance(i, dict) or not {"id", "name", "status"} <= set(i) for i in items):
        raise Failed("an item of the list is not {id, name, status}", exchange)
    return f"{len(items)} workflows listed"


@check(
    "launch",
    "POST /api/v1/workflows/{name}/instances: 201 {id, workflow_name, status: running, variables, created_at RFC 3339}",
    BASE,
    BASE_DOC,
    ("create_workflow",),
)
def launch(probe: Probe) -> str:
    name = probe.state["workflow"]
    body = probe.launch(name, LAUNCH_VARIABLES)
    exchange = probe.last
    _instance_shape(body, exchange, "the launch answer")
    if body["status"] != "running":
        raise Failed(f"the launch answer's status is {body['status']!r}, not 'running'", exchange)
    probe.state["instance"] = body["id"]
    return f"instance {body['id']}"


@check(
    "get_instance",
    "GET /api/v1/instances/{id}: 200 {id, workflow_name, status, variables, created_at}",
    BASE,
    BASE_DOC,
    ("launch",),
)
def get_instance(probe: Probe) -> str:
    instance_id = probe.state["instance"]
    body = probe.instance(instance_id)
    _instance_shape(body, probe.last, "the instance")
    if str(body["id"]) != str(instance_id):
        raise Failed(f"asked for instance {instance_id}, got {body['id']}", probe.last)
    return body["status"]


@check("list_instances", "GET /api/v1/instances: 200, a list of instance objects", BASE, BASE_DOC)
def list_instances(probe: Probe) -> str:
    exchange = probe.call("GET", "/api/v1/instances")
    expect_status(exchange, 200, "listing instances")
    items = expect_list(exchange, "the instance list")
    if any(not isinstance(i, dict) or not {"id", "status"} <= set(i) for i in items):
        raise Failed("an item of the list is not an instance object", exchange)
    return f"{len(items)} instances listed"


@check("complete", 'POST /api/v1/instances/{id}/complete: 200 {"message": "..."}', BASE, BASE_DOC, ("launch",))
def complete(probe: Probe) -> str:
    # A SHAR that runs asynchronously may not have reached the user task yet: where the gateway says
    # where the instance waits, wait for it to stand at 'first'.
    probe.instance_until(probe.state["instance"], lambda d: d.get("current_activities") in (None, ["first"]))
    exchange = probe.call("POST", f"/api/v1/instances/{seg(str(probe.state['instance']))}/complete")
    expect_status(exchange, 200, "completing the waiting task")
    body = expect_object(exchange, "message", what="the completion answer")
    if not isinstance(body["message"], str):
        raise Failed("the completion answer's message is not a string", exchange)
    return body["message"]


def _instance_shape(body: dict, exchange: object, what: str) -> None:
    missing = [k for k in ("id", "workflow_name", "status", "variables", "created_at") if k not in body]
    if missing:
        raise Failed(f"{what} lacks {', '.join(missing)}", exchange)  # type: ignore[arg-type]
    problems = [
        "id is empty" if not identifier(body["id"]) else "",
        f"status {body['status']!r} is none of {', '.join(STATUSES)}" if body["status"] not in STATUSES else "",
        "variables is not an object" if not isinstance(body["variables"], dict) else "",
        f"created_at {body['created_at']!r} is not RFC 3339" if not rfc3339(body["created_at"]) else "",
    ]
    if any(problems):
        raise Failed(f"{what}: {'; '.join(p for p in problems if p)}", exchange)  # type: ignore[arg-type]
