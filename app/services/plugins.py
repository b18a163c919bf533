"""The plug-ins this app loaded (app.plugins.loading), for `flask shar plugins`."""

from __future__ import annotations

from flask import current_app

from app.plugins.loading import Plugin, report
from app.services.access import require_admin
from app.services.actors import Actor


def loaded_plugins(*, actor: Actor) -> tuple[Plugin, ...]:
    """Every plug-in the app was asked to load: those loaded with their listeners, those not with why."""
    require_admin(actor)
    return report(current_app._get_current_object()).plugins  # type: ignore[attr-defined]
