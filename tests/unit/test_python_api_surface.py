"""The Python API's surface is deliberate: what `__all__` names is the promise (docs/integrating.md),
every call is documented there and here, typed, and takes its actor by keyword."""

from __future__ import annotations

import inspect
from pathlib import Path

from app import python_api
from app.lifecycle.events import EVENTS
from app.plugins.loading import GROUP

DOC = (Path(__file__).resolve().parents[2] / "docs" / "integrating.md").read_text()
CALLS = ("create_workflow", "launch", "sync_one", "sync_all_running", "get_instance", "get_workflow", "notify")


def test_the_surface_is_what_the_guide_promises() -> None:
    assert sorted(python_api.__all__) == sorted(
        [*CALLS, "system", "use_app", "SYSTEM", "EVENTS", "Actor", "SystemActor", "Registry", "Event"]
        + ["InstanceView", "WorkflowView", "SharboardError", "NotFound", "PermissionDenied", "InvalidInput"]
        + ["Conflict", "ServiceUnavailable"]
    )
    assert all(hasattr(python_api, name) for name in python_api.__all__)
    assert python_api.EVENTS == tuple(EVENTS)
    assert f'"{GROUP}"' in DOC and all(f"`{event}`" in DOC for event in EVENTS)


def test_every_call_is_documented_typed_and_takes_its_actor_by_keyword() -> None:
    for name in CALLS:
        call = getattr(python_api, name)
        signature = inspect.signature(call)
        assert call.__doc__ and f"`{name}(" in DOC, name
        assert signature.parameters["actor"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert signature.return_annotation is not inspect.Signature.empty, name
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), name
