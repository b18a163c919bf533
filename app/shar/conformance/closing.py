"""The last checks: the base contract's delete, then the run's other workflows removed (the contract
lets a workflow be deleted; what a gateway keeps of their instances is its own)."""

from __future__ import annotations

from app.shar.conformance import extensions  # noqa: F401  (every other check runs before the delete)
from app.shar.conformance.catalog import check
from app.shar.conformance.probe import BASE, BASE_DOC, Failed, Probe, expect_object, expect_status, seg


@check(
    "delete_workflow", 'DELETE /api/v1/workflows/{name}: 200 {"message": "..."}', BASE, BASE_DOC, ("create_workflow",)
)
def delete_workflow(probe: Probe) -> str:
    name = probe.state["workflow"]
    exchange = probe.call("DELETE", f"/api/v1/workflows/{seg(name)}")
    expect_status(exchange, 200, "deleting a workflow")
    body = expect_object(exchange, "message", what="the delete answer")
    if not isinstance(body["message"], str):
        raise Failed("the delete answer's message is not a string", exchange)
    probe.created.remove(name)
    return body["message"]


def remove_leftovers(probe: Probe) -> list[str]:
    """Delete every workflow this run created and a check did not delete; the names that would not go."""
    kept = []
    for name in list(probe.created):
        exchange = probe.call("DELETE", f"/api/v1/workflows/{seg(name)}")
        if exchange.status == 200:
            probe.created.remove(name)
        else:
            kept.append(name)
    return kept
