"""Finding and loading plug-ins: once per process, enabled per app.

A plug-in is a callable `register(registry)` (app.plugins.registry.Registry), named by an entry point
of the group `sharboard.listeners` in an installed package (`example = example_plugin:register`, or
just the module, whose `register` is used) or by SHARBOARD_PLUGINS (`package.module` or
`package.module:function`). Each is imported and registered once per process, whichever app asked
first; every app records which of them it loaded (its PluginReport), and a plug-in's listeners act
only in the apps that loaded it. A plug-in that fails to import or register is kept with the reason,
logged, and changes nothing else.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask

from app.core.config import Settings
from app.plugins.registry import EXTENSION, Registry, Subscription

GROUP = "sharboard.listeners"
logger = logging.getLogger("sharboard.plugins")


@dataclass(frozen=True)
class Plugin:
    name: str  # the entry point's name, or the module named in SHARBOARD_PLUGINS
    source: str  # where it was named: the entry point's package, or SHARBOARD_PLUGINS
    target: str  # what was loaded: module:function
    subscriptions: tuple[Subscription, ...] = ()
    error: str | None = None  # why it could not be loaded; None when it was

    @property
    def loaded(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class PluginReport:
    """The plug-ins an app asked for, loaded or not."""

    plugins: tuple[Plugin, ...] = ()

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(p.target for p in self.plugins if p.loaded)


_lock = threading.Lock()
_loaded: dict[str, Plugin] = {}  # by target: a plug-in named twice (entry point and setting) loads once


def init_app(app: Flask, settings: Settings) -> None:
    with _lock:
        plugins = tuple(dict.fromkeys(_load_once(name, source, target) for name, source, target in _wanted(settings)))
    app.extensions[EXTENSION] = PluginReport(plugins)


def report(app: Flask) -> PluginReport:
    return app.extensions.get(EXTENSION) or PluginReport()


def _wanted(settings: Settings) -> Iterator[tuple[str, str, str]]:
    if settings.plugin_entry_points:
        try:
            found = sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name)
        except Exception as exc:  # noqa: BLE001 - broken metadata of some package must not stop the app
            logger.error("plug-in discovery failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            found = []
        for entry in found:
            package = entry.dist.name if entry.dist is not None else "an unknown package"
            yield entry.name, f"entry point of {package}", _target(entry.value)
    for spec in settings.plugins:
        yield spec, "SHARBOARD_PLUGINS", _target(spec)


def _target(spec: str) -> str:
    module, _, function = spec.strip().partition(":")
    return f"{module.strip()}:{function.strip() or 'register'}"


def _load_once(name: str, source: str, target: str) -> Plugin:
    if target not in _loaded:
        _loaded[target] = _load(name, source, target)
    return _loaded[target]


def _load(name: str, source: str, target: str) -> Plugin:
    module_name, _, attribute = target.partition(":")
    registry = Registry(name)
    try:
        register = importlib.import_module(module_name)
        for part in attribute.split("."):
            register = getattr(register, part)
        register(registry)  # type: ignore[operator]
        subscriptions = registry.connect(target)
    except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, never fatal
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("plug-in not loaded", extra={"plugin": name, "target": target, "error": reason})
        return Plugin(name, source, target, error=reason)
    logger.info("plug-in loaded", extra={"plugin": name, "target": target, "listeners": len(subscriptions)})
    return Plugin(name, source, target, subscriptions)
