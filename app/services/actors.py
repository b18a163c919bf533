"""Who performs an operation. Every service operation takes one as its keyword-only `actor`.

A signed-in user (or an API token's user) acts as themselves; the command line acts as the
system actor `system:cli`, with the admin role: whoever can run `flask shar` on the server
owns it already. Scheduled work (the periodic sync, the cleanup) calls the services' job
functions, which take no actor and write no audit entry: nobody chose to run them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import InvalidInput
from app.models import User


@dataclass(frozen=True)
class SystemActor:
    name: str
    id: None = None
    role: str = "admin"
    active: bool = True

    @property
    def email(self) -> str:
        return f"system:{self.name}"

    @property
    def is_admin(self) -> bool:
        return True

    @property
    def can_write(self) -> bool:
        return True


CLI = SystemActor("cli")
PYTHON = SystemActor("python")  # code beside the app calling app.python_api, unless it names itself
SYSTEM_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def system_actor(name: str) -> SystemActor:
    """The system actor `system:<name>`: code running on the server (a worker, a plug-in) names
    itself so the audit log tells its work from the CLI's; it owns the server, so it is an admin."""
    if not isinstance(name, str) or not SYSTEM_NAME.fullmatch(name):
        raise InvalidInput.field("actor", "a system actor's name is 1-40 of a-z, 0-9, _, . and -, starting a-z or 0-9")
    return SystemActor(name)


Actor = User | SystemActor


def actor_label(actor: Actor) -> str:
    """How the actor is shown in timelines and the audit log."""
    return actor.email
