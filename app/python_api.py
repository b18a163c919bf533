"""sharboard's Python API: the stable calls for code running beside the app.

A worker, a `flask shell`, a plug-in's listener or another Flask app sharing sharboard's database
creates workflows, launches instances, asks for syncs, reads them back and notifies people with
these functions, under the same rules as the dashboard, the JSON API and the CLI (each is one call
of a service in app/services; nothing here decides anything). What this module exports (`__all__`)
keeps its names, arguments and meaning; everything else in `app` may change. docs/integrating.md
shows it in use.

Actors. Every call takes a keyword-only `actor`: a user's e-mail (an existing, active user: they act
as themselves, with their role and what they may see), `SYSTEM` (the system actor `system:python`,
an admin, as the CLI's `system:cli`), or `system("name")` for code that names itself in the audit log.

App context. No request is needed. Inside a sharboard app context (`flask shell`, a plug-in's
listener, a view of sharboard) a call uses it and its database session, which it commits. Anywhere
else (a thread, a script, a request of another Flask app) it pushes an app context of the app given
to `use_app`, else of one `create_app()` builds from the environment on first use, and pops it
before returning. So results are snapshots (WorkflowView, InstanceView), not database rows: they
stay readable after the call; read again with get_instance for news.

Errors are sharboard's error tree (app/core/errors.py), re-exported here: NotFound (no such name or
id, or not the actor's to see), PermissionDenied, InvalidInput (.errors per field), Conflict,
ServiceUnavailable; all are SharboardError.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, has_app_context

from app.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    SharboardError,
)
from app.lifecycle.events import EVENTS as _SIGNALS
from app.plugins.registry import Registry
from app.plugins.views import Event, InstanceView, WorkflowView, instance_view, workflow_view
from app.services import instances as _instances
from app.services import launches as _launches
from app.services import notifications as _notifications
from app.services import sync as _sync
from app.services import workflows as _workflows
from app.services.actors import PYTHON, SystemActor, system_actor
from app.services.users import acting_user

__all__ = [
    "EVENTS",
    "SYSTEM",
    "Actor",
    "Conflict",
    "Event",
    "InstanceView",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "Registry",
    "ServiceUnavailable",
    "SharboardError",
    "SystemActor",
    "WorkflowView",
    "create_workflow",
    "get_instance",
    "get_workflow",
    "launch",
    "notify",
    "sync_all_running",
    "sync_one",
    "system",
    "use_app",
]

Actor = str | SystemActor  # a user's e-mail, or a system actor
SYSTEM: SystemActor = PYTHON
EVENTS: tuple[str, ...] = tuple(_SIGNALS)  # the names a plug-in's listener can subscribe to

P = ParamSpec("P")
R = TypeVar("R")
_apps: list[Flask] = []
_lock = threading.Lock()


def system(name: str) -> SystemActor:
    """The system actor `system:<name>` (1-40 of a-z, 0-9, `_`, `.`, `-`): an admin, as SYSTEM is."""
    return system_actor(name)


def use_app(app: Flask) -> None:
    """Make `app` (one `create_app` built, with the settings of the deployment to act on) the app
    whose context calls push when none of sharboard's is active. Call it once, before any call."""
    if "SHARBOARD_SETTINGS" not in app.config:
        raise TypeError("use_app needs an app made by sharboard's create_app")
    with _lock:
        _apps[:] = [app]


@contextmanager
def _sharboard_context() -> Iterator[None]:
    if has_app_context() and "SHARBOARD_SETTINGS" in current_app.config:
        yield
        return
    with _lock:
        if not _apps:
            from app import create_app

            _apps.append(create_app())  # the environment's settings, as `flask` commands read them
        app = _apps[0]
    with app.app_context():
        yield


def _in_sharboard(call: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(call)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _sharboard_context():
            return call(*args, **kwargs)

    return wrapper


def _acting(actor: Actor) -> Any:
    """The service actor for `actor`, read in this call's context (a row from another would be stale)."""
    if isinstance(actor, SystemActor):
        return actor
    if isinstance(actor, str):
        return acting_user(actor)
    raise TypeError(f"actor must be a user's e-mail or a system actor, not {type(actor).__name__}")


@_in_sharboard
def create_workflow(
    name: str, bpmn_xml: str, *, actor: Actor, description: str = "", callback_url: str | None = None
) -> WorkflowView:
    """Store workflow `name` (a new version if it exists) as a `creating` placeholder and queue its
    creation in SHAR; returns at once. A job makes it `active` (or `failed`, with `error`); its
    `job_id` is that job's. The same BPMN as the latest creating or active version makes nothing
    new: that version comes back with `job_id` None. `callback_url` is called with the outcome."""
    result = _workflows.create_workflow(
        name, bpmn_xml, actor=_acting(actor), description=description, callback_url=callback_url, async_=True
    )
    return workflow_view(result.workflow, job_id=result.job.id if result.created and result.job else None)


@_in_sharboard
def launch(
    workflow: str,
    variables: Mapping[str, Any] | None = None,
    *,
    actor: Actor,
    callback_url: str | None = None,
    process_id: str | None = None,
    message: str | None = None,
) -> InstanceView:
    """Store a `launching` instance of the latest active version of `workflow` and queue its launch;
    returns the placeholder at once (its id is final) with `job_id`, the launch's job. The job moves
    it to `running`, `completed` or `failed`. `process_id` picks the process of a file with several,
    `message` starts it at that message start event."""
    launched = _launches.launch_instance(
        workflow,
        dict(variables) if variables is not None else None,
        actor=_acting(actor),
        callback_url=callback_url,
        async_=True,
        process_id=process_id,
        message=message,
    )
    return instance_view(launched.instance, job_id=launched.job.id)


@_in_sharboard
def sync_one(instance_id: str, *, actor: Actor, callback_url: str | None = None) -> int:
    """Queue a sync of one running instance from SHAR; returns the sync job's id. Conflict when it
    is not running (unless `callback_url` asks for its outcome whatever its status)."""
    return _sync.request_sync(instance_id, actor=_acting(actor), callback_url=callback_url).id


@_in_sharboard
def sync_all_running(*, actor: Actor, force: bool = True) -> int:
    """Queue syncs of every running instance, in batches (admins only); returns how many were queued.
    `force=False` leaves out those synced within SHAR_SYNC_INTERVAL, as the periodic sync does."""
    return _sync.queue_syncs(actor=_acting(actor), force=force).queued


@_in_sharboard
def get_instance(instance_id: str, *, actor: Actor) -> InstanceView:
    """The instance as stored now (NotFound if there is none or the actor may not see it)."""
    return instance_view(_instances.get_instance(instance_id, actor=_acting(actor), fresh=True))


@_in_sharboard
def get_workflow(name: str, *, actor: Actor, version: int | None = None) -> WorkflowView:
    """The latest version of workflow `name`, or the given `version`."""
    acting = _acting(actor)
    if version is None:
        return workflow_view(_workflows.get_workflow(name, actor=acting))
    return workflow_view(_workflows.get_version(name, version, actor=acting))


@_in_sharboard
def notify(
    recipient: int | str,
    *,
    actor: Actor,
    kind: str,
    title: str,
    body: str = "",
    about: InstanceView | WorkflowView | None = None,
    link: str | None = None,
) -> bool:
    """Notify a user (by id or e-mail) on their notifications page, and by e-mail when they want
    e-mails and mail is on, as sharboard's own notifications are (admins and system actors only).

    `kind` is dotted, your plug-in's name first ("billing.invoice_sent"). With `about` (an instance
    or workflow) it is sent once per user, kind and subject: a repeat returns False, so a listener
    run twice notifies once; the link defaults to its page. Without `about` every call sends one.
    False as well when the user is deactivated or notifications are off (SHAR_NOTIFICATIONS_ENABLED).
    `link` is a path on the dashboard ("/instances/<id>")."""
    target = None
    if isinstance(about, InstanceView):
        target = ("instance", about.id)
    elif isinstance(about, WorkflowView):
        target = ("workflow", about.id)
    note = _notifications.send_custom(
        recipient, actor=_acting(actor), kind=kind, title=title, body=body, target=target, link=link
    )
    return note is not None
