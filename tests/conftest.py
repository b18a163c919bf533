"""Fixtures shared by every test: real SHAR engine, SMTP server, Redis queues, apps on their own databases."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.support import leaks
from tests.support.databases import on_database
from tests.support.servers import SmtpSink, WebhookReceiver
from tests.support.stack import (
    REDIS_URL,
    Processes,
    build_app,
    settings_env,
    unique_queues,
)

# -- nothing left running ----------------------------------------------------------------
# Every process the suite starts inherits this marker; after each test none may be left.
_LEAKED: list[str] = []
# How long a test's processes may take to go after its teardown (a consumer finishing a
# job on SIGINT, then SIGTERM, then SIGKILL of its group: Processes.stop's own budget).
LEAK_GRACE = float(os.environ.get("SHARBOARD_LEAK_GRACE", "20"))


def pytest_configure(config: pytest.Config) -> None:
    os.environ[leaks.MARKER] = f"{uuid.uuid4().hex}-{os.getpid()}"
    _remember_password_work()
    # One Prometheus directory for the session, shared by the test process and every consumer it
    # starts (as `flask shar up` shares one); metric tests compare counts before and after.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sharboard-metrics-")


def _remember_password_work() -> None:
    """Hashing a password costs 0.1 s (scrypt), and so does checking one; the suite makes hundreds of
    users and signs in hundreds of times with a handful of passwords. In this process each password is
    hashed once and each (hash, password) pair checked once: still werkzeug's scrypt, never a weaker one."""
    import app.models.user as user_model
    import app.security.passwords as passwords

    user_model.generate_password_hash = functools.lru_cache(maxsize=1024)(user_model.generate_password_hash)  # type: ignore[assignment]
    passwords.check_password_hash = functools.lru_cache(maxsize=4096)(passwords.check_password_hash)  # type: ignore[assignment]


# -- tiers ---------------------------------------------------------------------------------
# A test that reaches any of these fixtures needs PostgreSQL, Redis, consumer processes or a browser
# (`app` and `make_app` use the shared Redis; `database` runs on PostgreSQL too). Every other test is
# in the fast tier (`scripts/test.sh --fast`, `-m fast`): pure logic, the in-thread engine, offline apps.
SERVICE_FIXTURES = frozenset({"app", "make_app", "processes", "database", "browser"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--benchmarks", action="store_true", help="also run each benchmark at tiny size (tests/bench, minutes)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    not_asked = pytest.mark.skip(reason="benchmarks are not part of the test run: --benchmarks runs them")
    for item in items:
        if item.get_closest_marker("benchmarks") and not config.getoption("--benchmarks"):
            item.add_marker(not_asked)
        uses = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses or item.get_closest_marker("soak") or item.get_closest_marker("services"):
            item.add_marker(pytest.mark.services)
        else:
            item.add_marker(pytest.mark.fast)


@pytest.fixture(autouse=True)
def no_process_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Autouse, so set up first and torn down last: after every other fixture of the test has
    stopped what it started, any marked process still alive is a leak. It is killed (so one
    leak does not spread to later tests) and the session fails at its end."""
    yield
    survivors = leaks.wait_for_none(os.environ[leaks.MARKER], LEAK_GRACE)
    if survivors:
        leaks.kill_all(survivors)
        _LEAKED.extend(f"{request.node.nodeid}: pid {pid} {cmd}" for pid, cmd in survivors.items())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    survivors = leaks.wait_for_none(os.environ[leaks.MARKER], 5.0)
    if survivors:
        leaks.kill_all(survivors)
        _LEAKED.extend(f"(end of session): pid {pid} {cmd}" for pid, cmd in survivors.items())
    if _LEAKED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _LEAKED:
        terminalreporter.section("processes left running by tests (killed; the run fails)", red=True)
        for line in _LEAKED:
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local SHAR engine over real HTTP, shared by the session; faults reset per test."""
    from app.sharlite.server import EngineServer

    server = EngineServer(str(tmp_path_factory.mktemp("sharlite") / "engine.db"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Any]:
    """A real OpenID provider (tests/oidc_provider), shared by the session; each test registers its client."""
    from tests.support.oidc import OidcProvider

    with leaks.unmarked():  # shared by the session's tests and stopped below, not a leak of one
        provider = OidcProvider()
    yield provider
    provider.stop()


@pytest.fixture
def shar(engine_server: Any) -> Any:
    engine_server.set_faults(latency_ms=0, error_rate=0.0, outage=False)
    httpx.delete(f"{engine_server.url}/_sharlite/requests")
    return engine_server


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def overrides(tmp_path: Path, shar: Any, smtp: SmtpSink) -> dict[str, Any]:
    """Settings for one test: its own SQLite file, its own Redis queue names, the test servers."""
    smtp.messages.clear()
    return {
        "instance_dir": str(tmp_path / "instance"),
        "database_url": f"sqlite:///{tmp_path / 'sharboard.db'}",
        "redis_url": REDIS_URL,
        **unique_queues(),
        "shar_base_url": shar.url,
        "shar_timeout": 5.0,
        "time_scale": 0.01,
        "secret_key": "test-secret",
        "mail_enabled": True,
        "mail_server": "127.0.0.1",
        "mail_port": smtp.port,
        "reconcile_interval": 0.5,
        "log_level": "WARNING",
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, overrides: dict[str, Any]) -> Iterator[str]:
    """The test runs on SQLite, then on PostgreSQL (.ci/run starts it): request it before
    `app`/`api`/`make_app`/`processes`, whose `overrides` it points at a fresh database."""
    yield from on_database(request.param, overrides, pytest.fail)


@pytest.fixture
def offline_app(tmp_path: Path) -> Iterator[Flask]:
    """The first tier: an app on its own SQLite file that needs no server at all (no Redis:
    Huey's SQLite storage; no SHAR: nothing is queued to a consumer; no SMTP: mail off).
    For page, template and unit tests of what the services decide."""
    application = build_app(
        instance_dir=str(tmp_path / "instance"),
        database_url=f"sqlite:///{tmp_path / 'o.db'}",
        redis_url="",
        shar_base_url="http://127.0.0.1:9",
        secret_key="test-secret",
        mail_enabled=False,
        log_level="WARNING",
    )
    with application.app_context():
        yield application


@pytest.fixture
def app(overrides: dict[str, Any]) -> Iterator[Flask]:
    """An app on its own migrated database, with an app context pushed."""
    application = build_app(**overrides)
    with application.app_context():
        yield application
        _flush_queues(application)


@pytest.fixture
def make_app(overrides: dict[str, Any], processes: Processes) -> Iterator[Any]:
    """Build an app with extra settings (the consumer processes get the same ones)."""
    contexts = []

    def make(**extra: Any) -> Flask:
        settings = {**overrides, **extra}
        processes.env.update(settings_env(**settings))
        application = build_app(**settings)
        ctx = application.app_context()
        ctx.push()
        contexts.append((application, ctx))
        return application

    yield make
    for application, ctx in reversed(contexts):
        _flush_queues(application)
        ctx.pop()


@pytest.fixture
def processes(overrides: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    """Real consumer/scheduler processes sharing the test app's settings; logs shown on failure."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    procs = Processes(overrides, log_dir)
    yield procs
    procs.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(procs.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _flush_queues(application: Flask) -> None:
    from app.jobs.queues import current_queues

    for name in current_queues().names:
        try:
            current_queues().huey(name).storage.flush_all()
        except Exception:
            pass
