"""sharboard: an operator dashboard for the SHAR BPMN engine."""

from __future__ import annotations

from typing import Any

from flask import Flask
from htmx_flask import Htmx
from sqlalchemy import Engine, event

from app.core import metrics, routing
from app.core.config import REPO_ROOT, Settings
from app.security.files import secure_instance_files
from app.security.session_cookies import RememberingSessionInterface


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the web app; `overrides` are Settings fields (tests pass them)."""
    from app import models  # noqa: F401  (models registers the tables)
    from app.core.logging_setup import configure_logging

    settings = settings or Settings.from_env(**overrides)
    configure_logging(settings.log_level, settings.shar_log_level)
    secure_instance_files(settings)  # the instance dir and its SQLite files, 0700/0600, before any is opened
    metrics.configure(settings.metrics_dir)  # before anything is counted (see app.core.metrics)
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
        instance_path=settings.instance_dir,
    )
    app.config.update(settings.flask_config())
    app.config["SHARBOARD_SETTINGS"] = settings
    app.session_interface = RememberingSessionInterface()
    routing.init_app(app)
    _init_extensions(app)
    _register_blueprints(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app.core.db_pool import ping_when_idle
    from app.core.extensions import csrf, db, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True)
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    Htmx(app)
    from app.web.access import init_app as init_access

    init_access()
    with app.app_context():
        _tune_sqlite(db.engine)
        ping_when_idle(db.engine)
    from app import cli, tasks
    from app.jobs import queues
    from app.jobs.runner import run_message
    from app.lifecycle import changes
    from app.notifications import listeners as notification_listeners
    from app.plugins import loading as plugins
    from app.security import principals
    from app.webhooks import listeners as webhook_listeners

    tasks.init_app(app)
    queues.init_app(app, app.config["SHARBOARD_SETTINGS"], execute=run_message)
    principals.init_app(
        app,
        app.extensions[queues.EXTENSION_KEY].redis(),
        "sharboard:" + app.config["SHARBOARD_SETTINGS"].redis_namespace,
    )
    principals.connect()
    changes.connect()  # instances the unit of work writes move their diagram counts' version
    # Listeners connect once per process (connecting is idempotent: blinker keeps one of each).
    notification_listeners.connect()
    webhook_listeners.connect()
    plugins.init_app(app, app.config["SHARBOARD_SETTINGS"])  # after the built-in listeners: theirs run first
    cli.init_app(app)


def _tune_sqlite(engine: Engine) -> None:
    """WAL and a busy timeout: the web app, consumers and scheduler share one SQLite file."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from app import admin, api
    from app.core import request_text
    from app.core.extensions import csrf
    from app.security import rate_limits
    from app.web import context, errors, security_headers
    from app.web.auth import sso
    from app.web.auth.routes import bp as auth_bp
    from app.web.instances import migrate as _instance_migrate  # noqa: F401  (its routes join the blueprint)
    from app.web.instances import repair_routes  # noqa: F401 - its routes join the instances blueprint
    from app.web.instances.routes import bp as instances_bp
    from app.web.notifications.routes import bp as notifications_bp
    from app.web.overview.routes import bp as overview_bp
    from app.web.views.routes import bp as views_bp
    from app.web.workflows.routes import bp as workflows_bp

    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    csrf.exempt(api.probes_bp)
    for blueprint in (
        auth_bp,
        overview_bp,
        workflows_bp,
        instances_bp,
        views_bp,
        notifications_bp,
        admin.bp,
        api.bp,
        api.docs_bp,
        api.probes_bp,
    ):
        app.register_blueprint(blueprint)
    sso.init_app(app)  # the identity provider's client, when single sign-on is configured
    context.init_app(app)
    errors.init_app(app)
    rate_limits.init_app(app, auth_bp=auth_bp, api_bp=api.bp)
    security_headers.init_app(app)
    request_text.init_app(app)
