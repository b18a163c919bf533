"""Who performs an operation. Every service operation takes one as its keyword-only `actor`.

A signed-in user (or an API token's user) acts as themselves; the command line acts as the
system actor `system:cli`, with the admin role: whoever can run `flask shar` on the server
owns it already. Scheduled work (the periodic sync, the cleanup) calls the services' job
functions, which take no actor and write no audit entry: nobody chose to run them.
"""

from __future__ import annotations

from dataclasses import dataclass

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

Actor = User | SystemActor


def actor_label(actor: Actor) -> str:
    """How the actor is shown in timelines and the audit log."""
    return actor.email
