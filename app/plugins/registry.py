"""What a plug-in's `register(registry)` receives, and the receivers that call its listeners.

A plug-in subscribes a listener to an event by name (app.lifecycle.events.EVENTS). Its listener gets
one argument, an `Event` of snapshots (app.plugins.views), never the row the event is about, and runs
inside app.lifecycle.events.fire like every other listener: after the change committed, in the
process that made it (a consumer, the web app, the CLI), isolated (an exception is logged and
counted, and neither the change nor the other listeners notice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.lifecycle.events import EVENTS
from app.plugins.views import Event, event_for

EXTENSION = "sharboard.plugins"  # app.extensions key of the app's PluginReport (app.plugins.loading)
Listener = Callable[[Event], Any]


class PluginError(ValueError):
    """A plug-in asked for something that does not exist (an unknown event, a listener that is not callable)."""


@dataclass(frozen=True)
class Subscription:
    event: str
    listener: str  # the listener's module and name, as logs, metrics and `flask shar plugins` show it


class Registry:
    """Given to a plug-in's `register(registry)`; `events` lists the names it may listen to."""

    events: tuple[str, ...] = tuple(EVENTS)

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self._listeners: list[tuple[str, Listener]] = []

    def listen(self, event: str, listener: Listener) -> Listener:
        """Call `listener(event)` each time `event` fires; returns the listener (usable as a decorator's body)."""
        if event not in EVENTS:
            raise PluginError(f"no event {event!r}; the events are {', '.join(EVENTS)}")
        if not callable(listener):
            raise PluginError(f"the listener of {event} must be callable, not {type(listener).__name__}")
        self._listeners.append((event, listener))
        return listener

    def on(self, event: str) -> Callable[[Listener], Listener]:
        """The same as a decorator: `@registry.on("instance_completed")`."""
        return lambda listener: self.listen(event, listener)

    def connect(self, target: str) -> tuple[Subscription, ...]:
        """Connect what register() asked for (only once it returned: a register that fails halfway
        connects nothing); `target` is what the plug-in was loaded from, the key its apps enable."""
        subscriptions = []
        for event, listener in self._listeners:
            receiver = PluginListener(self.plugin, target, event, listener)
            # Strong references: blinker keeps weak ones by default, and nothing else holds these.
            EVENTS[event].connect(receiver, weak=False)
            subscriptions.append(Subscription(event, receiver.label))
        return tuple(subscriptions)


class PluginListener:
    """The blinker receiver of one subscription: turns the event into an Event for the plug-in,
    in the apps that loaded the plug-in only (one process may build apps with different settings)."""

    def __init__(self, plugin: str, target: str, event: str, listener: Listener) -> None:
        self.target, self.event, self.listener = target, event, listener
        self.label = f"{getattr(listener, '__module__', '?')}.{getattr(listener, '__qualname__', repr(listener))}"
        self.__qualname__ = f"plugin {plugin}: {self.label}"  # the name fire() logs and counts a failure under

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        report = current_app.extensions.get(EXTENSION)
        if report is None or self.target not in report.enabled:
            return
        self.listener(event_for(self.event, sender, kwargs))
