"""Who performs an operation. Every service operation takes one as its keyword-only `actor`.

A signed-in user (or an API token's user) acts as themselves. Work that no person starts
acts as a named system actor: the command line, the scheduler, a job worker. System
actors have the admin role: whoever can run `flask shar` on the server owns it already.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

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
SCHEDULER = SystemActor("scheduler")
WORKER = SystemActor("worker")

Actor = Union[User, SystemActor]


def actor_label(actor: Actor) -> str:
    """How the actor is shown in timelines and the audit log."""
    return actor.email
