"""`flask shar up`: the whole stack in one command; `flask shar engine`: the local SHAR engine."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime

import click
import httpx

from app.cli.group import shar_cli
from app.cli.output import fail
from app.cli.processes import Interrupted, ProcessGroup, StopRequests, flask_command
from app.core import metrics
from app.core.children import RUN_TOKEN_ENV, RUN_TOKEN_HEADER
from app.core.config import Settings, current_settings
from app.core.runtime import migrate_database
from app.core.web_server import refuse_if_taken
from app.models._base import utcnow
from app.services.actors import CLI as SYSTEM_SETUP
from app.services.health.heartbeats import queues_without_beat_since
from app.services.users import ensure_admin


@shar_cli.command("up")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=None,
    help="Worker processes per queue consumer (default: the instance queue 4 per CPU core, at most 16, as its "
    "jobs wait on SHAR; the others one per core, at least 2).",
)
def up(workers: int | None) -> None:
    """Migrate the database, create the first admin, and run every process until Ctrl-C."""
    settings = current_settings()
    _refuse_taken_ports(settings)
    started_at = utcnow()
    migrate_database()
    sign_in = _first_admin(settings)
    metrics.reset_directory()  # every child counts into it (they inherit PROMETHEUS_MULTIPROC_DIR)
    group = ProcessGroup()
    # From here SIGINT and SIGTERM stop the start-up itself (checked between steps and while
    # waiting): without this, a SIGTERM would kill us and leave the children already started running.
    stops = group.stops
    stops.listen()
    try:
        token = secrets.token_hex(16)  # the web app says it on /healthz: the server answering is ours
        for name, argv, env in _children(settings, workers, token):
            group.start(name, argv, env)
            stops.check()
        if settings.uses_local_shar:
            _wait_for(f"{settings.shar_url()}/health", "local SHAR engine", group.children["shar-engine"], stops=stops)
        local = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else _bracketed(settings.host)
        _wait_for(f"http://{local}:{settings.port}/healthz", "web app", group.children["web"], token, stops=stops)
        starting = _wait_for_consumers(settings.queue_names, started_at, stops)
        click.echo(ready_banner(f"http://{local}:{settings.port}", settings.shar_url(), sign_in, starting))
        code = group.wait()
    except Interrupted:  # asked to stop while starting: stop what started, and that is success
        _ignore_stop_signals()
        group.stop(graceful=False)
        click.echo("stopped")
        code = 0
    except BaseException as exc:  # never leave children running behind a failed start
        _ignore_stop_signals()
        group.stop()
        fail(str(exc) or exc.__class__.__name__)
    _ignore_stop_signals()
    raise SystemExit(code)


def _children(settings: Settings, workers: int | None, token: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """What `up` starts, in order: name, argv and extra environment of each child."""
    children = [("shar-engine", engine_command(settings), {})] if settings.uses_local_shar else []
    children.append(("web", web_command(settings), {RUN_TOKEN_ENV: token}))
    for name in settings.queue_names:
        count = workers or default_workers(instance_queue=name == settings.shar_instance_queue)
        children.append(
            (f"consumer:{name}", flask_command("shar", "queue", "start", "--queue", name, "--workers", str(count)), {})
        )
    children.append(("scheduler", flask_command("shar", "queue", "scheduler"), {}))
    return children


def _ignore_stop_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def default_workers(*, instance_queue: bool = False) -> int:
    """Worker processes for a queue's consumer. The instance queue's jobs (completions, messages, repairs,
    launches taken one at a time) spend their time waiting on SHAR, a call at a time per worker: with SHAR
    at 50 ms a call, 2 workers made 29 launches/s and 8 made 78/s on two cores (docs/performance.md,
    session 9). So 4 per core, at most 16; the other queues one per core, never fewer than two. The price,
    against a SHAR answering at once: 8 processes on two cores spend more CPU a job than 2 (session 10:
    launches run together, 0.29-0.32 of the engine's rate with 8, 0.35 with 2)."""
    cores = os.cpu_count() or 1
    if instance_queue:
        return min(16, 4 * cores)
    return max(2, cores)


def web_command(settings: Settings) -> list[str]:
    # Keep-alive longer than the poll interval, so a polling page reuses its connection
    # instead of reconnecting on every poll (gunicorn's default, 2 s, equals the interval).
    keep_alive = int(settings.poll_interval * 3) + 1
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:app.core.web_server",
        "--bind",
        f"{_bracketed(settings.host)}:{settings.port}",
        "--workers",
        str(max(2, os.cpu_count() or 1)),
        "--threads",
        "8",
        "--timeout",
        "60",
        "--keep-alive",
        str(keep_alive),
        "wsgi:app",
    ]


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host  # an IPv6 address


@shar_cli.command("engine")
def engine() -> None:
    """Run the local SHAR engine (sharlite) in the foreground."""
    os.execv(sys.executable, engine_command(current_settings()))


def engine_command(settings: Settings) -> list[str]:
    db_path = settings.sharlite_db_path
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "app.sharlite",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.local_shar_port),
        "--db",
        str(db_path),
        "--max-variables-bytes",
        str(settings.max_variables_bytes),
    ]


def _refuse_taken_ports(settings: Settings) -> None:
    """Before anything starts or migrates: a port another process holds (often a stack left running)
    would fail our own child only after the rest had started."""
    ports = [(settings.host, settings.port, "web app", "PORT")]
    if settings.uses_local_shar:
        ports.append(("127.0.0.1", settings.local_shar_port, "local SHAR engine", "SHARLITE_PORT"))
    for host, port, what, variable in ports:
        try:
            refuse_if_taken(host, port)
        except RuntimeError:
            fail(
                f"port {port} (the {what}) is already in use by another process, perhaps a sharboard still "
                f"running from an earlier `flask shar up`; stop it, or set {variable} to a free port. "
                "Nothing was started."
            )
        except OSError as exc:
            fail(f"cannot listen on {host}:{port} (the {what}): {exc}. Nothing was started.")


def _first_admin(settings: Settings) -> str:
    """How to sign in, said in the banner once the stack is up (a password said before the
    children's start-up lines scrolled away among them)."""
    new = ensure_admin(settings.admin_email, settings.admin_password or None, actor=SYSTEM_SETUP)
    if new is None:
        return "Sign in as an admin created on an earlier start (`flask shar user create --role admin` adds one)."
    if new.generated:
        return (
            f"Created admin {new.user.email} with password {new.password}\n"
            "  (generated now and shown only this once: keep it, or change it after signing in)"
        )
    return f"Created admin {new.user.email} with the password of SHARBOARD_ADMIN_PASSWORD."


def ready_banner(url: str, shar_url: str, sign_in: str, starting: list[str]) -> str:
    """The last thing `up` prints: where to go and how to sign in, set apart from the log lines."""
    rule = "=" * 72
    lines = ["", rule, f"  sharboard is up: {url}", f"  {sign_in}", f"  SHAR: {shar_url}"]
    if starting:
        lines.append(f"  Still starting: the consumers of {', '.join(starting)} (jobs wait in their queues).")
    return "\n".join([*lines, "  Ctrl-C stops everything.", rule, ""])


def _wait_for_consumers(
    queues: Sequence[str], since: datetime, stops: StopRequests, timeout: float = 30.0
) -> list[str]:
    """Wait until each queue's consumer has beaten (its start-up lines are then printed), at most
    `timeout`: the queues still without one, which the banner names rather than block on."""
    deadline = time.monotonic() + timeout
    waiting = queues_without_beat_since(queues, since)
    while waiting and time.monotonic() < deadline:
        stops.check()
        time.sleep(0.3)
        waiting = queues_without_beat_since(queues, since)
    return waiting


def _wait_for(
    url: str,
    what: str,
    child: subprocess.Popen[bytes],
    token: str = "",
    timeout: float = 60.0,
    stops: StopRequests | None = None,
) -> None:
    """Until `url` answers 200 and, given `token`, names it (RUN_TOKEN_HEADER): a server left running
    by an earlier `up` answered here once, and the banner said up while our own web app had failed.
    An error as soon as `child` exits; Interrupted as soon as `stops` holds a signal."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stops is not None:
            stops.check()
        if child.poll() is not None:
            raise RuntimeError(f"{what} exited with code {child.returncode} while starting (its output above says why)")
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200 and (not token or answer.headers.get(RUN_TOKEN_HEADER) == token):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")
