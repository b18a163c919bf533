"""The engine's refusals that the HTTP face answers with a status (server._ENGINE_ERRORS)."""

from __future__ import annotations


class NotFound(LookupError):
    pass


class RepairConflict(RuntimeError):
    """The instance is not where (or not in the state) a repair expects: 409, nothing changed."""


class CannotRepair(RuntimeError):
    """The engine cannot do this repair soundly: 422 with the reason, nothing changed."""


class Stuck(CannotRepair):
    """After a repair nothing could move the instance on."""
