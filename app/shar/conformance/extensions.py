"""The checks of this project's extensions (docs/gateway-extensions.md): a gateway may lack any of
them (not offered: the field is missing, or the call answers 501, 405 or a 404 that is not a JSON
error); one it offers must answer as documented."""

from __future__ import annotations

import hashlib
from typing import Any

from app.shar.conformance import base  # noqa: F401  (the base checks run first: these need them)
from app.shar.conformance.catalog import check
from app.shar.conformance.probe import (
    EXTENSION,
    EXTENSIONS_DOC,
    Exchange,
    Failed,
    NotOffered,
    Probe,
    expect_object,
    expect_status,
    offered,
    rfc3339,
    seg,
)

FIELDS = f"{EXTENSIONS_DOC}#fields-and-calls"
MESSAGES = "docs/messages.md"
MOVE = f"{EXTENSIONS_DOC}#move-post-apiv1instancesidmove"
VARIABLES = f"{EXTENSIONS_DOC}#variables-patch-apiv1instancesidvariables"
MIGRATE = f"{EXTENSIONS_DOC}#migrate-post-apiv1instancesidmigrate"


@check("current_activities", "instance: current_activities, the elements it waits at", EXTENSION, FIELDS, ("complete",))
def current_activities(probe: Probe) -> str:
    instance = probe.instance_until(probe.state["instance"], lambda d: _at(d) in (None, ["second"]))
    at = _activities(probe, instance, "current_activities")
    if at != ["second"]:
        raise Failed(f"after 'first' was completed it should wait at ['second'], not {at}", probe.last)
    return "waits at ['second'] after 'first' was completed"


@check("completed_activities", "instance: completed_activities, in order", EXTENSION, FIELDS, ("complete",))
def completed_activities(probe: Probe) -> str:
    done = _activities(probe, probe.instance(probe.state["instance"]), "completed_activities")
    if "first" not in done or "second" in done:
        raise Failed(f"after 'first' was completed (and 'second' not) it lists {done}", probe.last)
    if "start" in done and done.index("start") > done.index("first"):
        raise Failed(f"not in order: {done}", probe.last)
    return f"{done}"


@check("failed_instance", "a failed instance: status failed with error, completed_at", EXTENSION, FIELDS, ("launch",))
def failed_instance(probe: Probe) -> str:
    name, _, _ = probe.create("failing", "failing")
    launched = probe.launch(name, {})
    instance = probe.instance_until(launched["id"], lambda d: d.get("status") != "running")
    if instance["status"] == "running":
        raise NotOffered(
            f"an instance that reached an uncaught error end event still reads running after {probe.settle:g} s",
            probe.last,
        )
    if instance["status"] != "failed":
        raise Failed(f"it ended at an error end event but reads {instance['status']!r}", probe.last)
    if not isinstance(instance.get("error"), str) or not instance["error"].strip():
        raise Failed("a failed instance without an error message", probe.last)
    if "completed_at" not in instance:
        return f"failed: {instance['error']} (completed_at not sent)"
    if not rfc3339(instance["completed_at"]):
        raise Failed(f"completed_at {instance['completed_at']!r} is not RFC 3339", probe.last)
    return f"failed: {instance['error']}"


@check(
    "workflow_version",
    "workflow: version, SHAR's number of the stored definition",
    EXTENSION,
    FIELDS,
    ("get_workflow",),
)
def workflow_version(probe: Probe) -> str:
    created, read = probe.state["created"], _read_workflow(probe)
    if "version" not in created and "version" not in read:
        raise NotOffered("workflows carry no version", probe.last)
    for what, body in (("the create answer", created), ("the workflow", read)):
        value = body.get("version")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise Failed(f"{what}'s version {value!r} is not a number from 1", probe.last)
    if created["version"] != read["version"]:
        raise Failed(f"created as version {created['version']}, read as {read['version']}", probe.last)
    return f"version {read['version']}"


@check("bpmn_sha256", "workflow: bpmn_sha256, the digest of the BPMN it holds", EXTENSION, FIELDS, ("get_workflow",))
def bpmn_sha256(probe: Probe) -> str:
    created, read = probe.state["created"], _read_workflow(probe)
    if "bpmn_sha256" not in created and "bpmn_sha256" not in read:
        raise NotOffered("workflows carry no bpmn_sha256", probe.last)
    digest = hashlib.sha256(probe.state["workflow_xml"].encode()).hexdigest()
    for what, body in (("the create answer", created), ("the workflow", read)):
        if body.get("bpmn_sha256") != digest:
            raise Failed(f"{what}'s bpmn_sha256 is not the SHA-256 of the BPMN sent ({digest})", probe.last)
    return "matches the BPMN sent"


@check(
    "launch_process_id",
    "launch with process_id: starts that process of the file",
    EXTENSION,
    FIELDS,
    ("current_activities",),
)
def launch_process_id(probe: Probe) -> str:
    _launched_to(
        probe,
        ("starts", "starts"),
        "second_task",
        "with the second process's id",
        process_id=f"ConformanceSecond_{probe.run}",
    )
    return "started the second process"


@check(
    "launch_message",
    "launch with message: starts at that message start event",
    EXTENSION,
    FIELDS,
    ("current_activities",),
)
def launch_message(probe: Probe) -> str:
    _launched_to(
        probe,
        ("message-start", "message_start"),
        "message_task",
        "by its start message",
        message=f"conformance-start-{probe.run}",
    )
    return "started at the message start event"


def _launched_to(probe: Probe, document: tuple[str, str], task: str, how: str, **launch: str) -> None:
    """Launch a new workflow of `document` with the launch extension in `launch`; Failed unless the
    instance then waits at `task` (the only way to see the extension was honoured)."""
    name, _, _ = probe.create(*document)
    launched = probe.launch(name, {}, **launch)
    instance = probe.instance_until(launched["id"], lambda d: _at(d) == [task])
    if _at(instance) != [task]:
        raise Failed(f"launched {how}, it waits at {_at(instance)}", probe.last)


@check(
    "messages", "POST /api/v1/instances/{id}/messages: the waiting event catches it", EXTENSION, MESSAGES, ("launch",)
)
def messages(probe: Probe) -> str:
    name, _, _ = probe.create("message", "waits_for_message")
    launched = probe.launch(name, {"ticket": probe.run})
    probe.instance_until(launched["id"], lambda d: _at(d) in (None, ["ping"]))
    path = f"/api/v1/instances/{seg(str(launched['id']))}/messages"
    exchange = probe.call("POST", path, {"name": f"conformance-ping-{probe.run}", "variables": {"pinged": True}})
    _offered_with(exchange, "the messages call", 200, 202)
    expect_object(exchange, what="the message answer")
    moved = probe.instance_until(launched["id"], lambda d: _past_ping(d))
    if not _past_ping(moved):
        raise Failed("the message was accepted but the instance did not move past its catch event", probe.last)
    return "caught; the instance moved on"


@check(
    "move",
    "POST /api/v1/instances/{id}/move: tokens taken from `from`, one placed at `to`",
    EXTENSION,
    MOVE,
    ("complete",),
)
def move(probe: Probe) -> str:
    path = f"/api/v1/instances/{seg(str(probe.state['instance']))}/move"
    exchange = probe.call("POST", path, {"from": ["second"], "to": "first"})
    _offered_with(exchange, "the move call", 200)
    body = expect_object(exchange, "instance", "left", "entered", what="the move answer")
    if body["left"] != ["second"] or body["entered"] != ["first"]:
        raise Failed(f"left {body['left']} and entered {body['entered']}, not ['second'] and ['first']", exchange)
    if not isinstance(body["instance"], dict) or _at(body["instance"]) not in (None, ["first"]):
        raise Failed("the instance in the answer does not wait at ['first']", exchange)
    return "moved from 'second' back to 'first'"


@check("variables", "PATCH /api/v1/instances/{id}/variables: set and remove", EXTENSION, VARIABLES, ("launch",))
def variables(probe: Probe) -> str:
    path = f"/api/v1/instances/{seg(str(probe.state['instance']))}/variables"
    exchange = probe.call("PATCH", path, {"set": {"checked": True}, "remove": ["note"]})
    _offered_with(exchange, "the variables call", 200)
    body = expect_object(exchange, "id", "status", "variables", what="the instance answered")
    held = body["variables"]
    if not isinstance(held, dict) or held.get("checked") is not True or "note" in held:
        raise Failed("expected the instance's variables with checked set and note removed", exchange)
    return "checked set, note removed"


@check(
    "migrate",
    "POST /api/v1/instances/{id}/migrate: runs version 2 from where it stands",
    EXTENSION,
    MIGRATE,
    ("launch",),
)
def migrate(probe: Probe) -> str:
    name, _, first = probe.create("migrate", "migrate_v1")
    launched = probe.launch(name, {})
    probe.instance_until(launched["id"], lambda d: _at(d) in (None, ["check"]))
    _, _, second = probe.create("migrate", "migrate_v2")
    version = _version_after(first, second)
    path = f"/api/v1/instances/{seg(str(launched['id']))}/migrate"
    exchange = probe.call("POST", path, {"version": version, "mapping": {"check": "verify"}})
    _offered_with(exchange, "the migrate call", 200)
    body = expect_object(exchange, "id", "status", what="the instance answered")
    if "workflow_version" in body and body["workflow_version"] != version:
        raise Failed(f"migrated to version {version}, it reads workflow_version {body['workflow_version']}", exchange)
    if _at(body) not in (None, ["verify"]):
        raise Failed(f"'check' was mapped to version {version}'s 'verify', but it waits at {_at(body)}", exchange)
    return f"runs version {version}, waits at 'verify'"


# -- helpers ---------------------------------------------------------------------------------------
def _at(instance: dict[str, Any]) -> list[Any] | None:
    at = instance.get("current_activities")
    return at if isinstance(at, list) else None


def _activities(probe: Probe, instance: dict[str, Any], key: str) -> list[str]:
    if key not in instance:
        raise NotOffered(f"instances carry no {key}", probe.last)
    value = instance[key]
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise Failed(f"{key} is not a list of element ids", probe.last)
    return value


def _past_ping(instance: dict[str, Any]) -> bool:
    if _at(instance) is not None:
        return _at(instance) == ["after_ping"]
    held = instance.get("variables")
    return isinstance(held, dict) and held.get("pinged") is True


def _read_workflow(probe: Probe) -> dict[str, Any]:
    exchange = probe.call("GET", f"/api/v1/workflows/{seg(probe.state['workflow'])}")
    expect_status(exchange, 200, "reading a workflow")
    return expect_object(exchange, "name", what="the workflow")


def _version_after(first: Exchange, second: Exchange) -> int:
    """The version the second create made: as it says, else one past the first's, else 2."""
    before, after = first.json(), second.json()
    if isinstance(after, dict) and isinstance(after.get("version"), int):
        return after["version"]
    if isinstance(before, dict) and isinstance(before.get("version"), int):
        return before["version"] + 1
    return 2


def _offered_with(exchange: Exchange, call: str, *statuses: int) -> None:
    """The call is offered (else NotOffered) and answered with one of `statuses`."""
    offered(exchange, call)
    if exchange.status not in statuses:
        raise Failed(f"{call}: expected HTTP {' or '.join(map(str, statuses))}", exchange)
