"""The one way tests and benchmarks start the stack: apps on their own migrated databases, consumer,
scheduler, engine and web processes sharing those settings, and a private Redis to stop at will.

Benchmarks import it too (`python -m bench.X` from the repo root finds the `tests` package), so it
imports nothing of pytest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.core.config import Settings
from tests.support.databases import AT_HEAD, copy_of_migrated_sqlite
from tests.support.servers import answers, wait_until

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHARBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def settings_env(**overrides: Any) -> dict[str, str]:
    """The environment variables that give a process the same Settings as `overrides`."""
    env: dict[str, str] = {}
    for f in fields(Settings):
        if f.name in overrides:
            value = overrides[f.name]
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, (tuple, list)):
                value = ",".join(value)
            env[f.metadata["env"]] = str(value)
    return env


def clean_env(*also: str) -> dict[str, str]:
    """This process's environment without the stack's settings (a developer's own must not leak into a
    test's processes) and without the variables starting with any of `also`."""
    dropped = ("SHAR", "MAIL_", "DATABASE_URL", "REDIS_URL", *also)
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def start_up(
    instance_dir: Path,
    web: int,
    engine: int,
    *args: str,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """`flask shar up` (with `args`) as a developer runs it on embedded defaults in `instance_dir`: the
    web app on port `web`, the engine on `engine`, quiet but for warnings unless `env` (added to a clean
    environment) says otherwise; in its own process group, so a test can signal it and its children."""
    stack_env = {
        "SHARBOARD_INSTANCE_DIR": str(instance_dir),
        "PORT": str(web),
        "SHARLITE_PORT": str(engine),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "shar", "up", *args],
        cwd=REPO,
        env={**clean_env(), **stack_env, **(env or {})},
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def processes_started_for(instance_dir: Path) -> list[int]:
    """PIDs whose environment names this test's instance directory: the stack's processes."""
    marker = f"SHARBOARD_INSTANCE_DIR={instance_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""  # gone meanwhile


def unique_queues(prefix: str = "") -> dict[str, str]:
    """Queue names no other run uses: the run's own keys in a shared Redis."""
    prefix = prefix or f"t{uuid.uuid4().hex[:8]}-"
    return {
        "shar_workflow_queue": f"{prefix}shar-workflows",
        "shar_instance_queue": f"{prefix}shar-instances",
        "shar_sync_queue": f"{prefix}shar-sync",
        "shar_notify_queue": f"{prefix}shar-notify",
    }


def build_app(**overrides: Any) -> Flask:
    """An app on its own database at head: a new SQLite file or a database made from a migrated
    template starts as a copy of one migrated once (tests.support.databases); any other is
    migrated with Alembic."""
    url = overrides.get("database_url", "")
    at_head = url in AT_HEAD
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        copy_of_migrated_sqlite(Path(url.removeprefix("sqlite:///")))
        at_head = True
    app = create_app(**overrides)
    if not at_head:
        with app.app_context():
            upgrade()
    return app


class Processes:
    """The stack's processes (consumers, scheduler, engine, web), started with the same settings as
    the app; each leads its own process group and logs to a file of `log_dir`. `clean` names more
    environment prefixes to drop (see clean_env)."""

    def __init__(self, overrides: dict[str, Any], log_dir: Path, clean: tuple[str, ...] = ()) -> None:
        self.env = {**clean_env(*clean), **settings_env(**overrides), "FLASK_APP": "wsgi.py", "PYTHONUNBUFFERED": "1"}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # Processes whose name a later start() reused (start_consumers twice): still ours to stop.
        self.replaced: list[subprocess.Popen[bytes]] = []
        self.queues = [
            overrides["shar_workflow_queue"],
            overrides["shar_instance_queue"],
            overrides["shar_sync_queue"],
            overrides["shar_notify_queue"],
        ]

    def start(self, name: str, *args: str, module: str = "flask") -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name.replace(':', '_')}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if name in self.procs:
            self.replaced.append(self.procs[name])
        self.procs[name] = proc
        return proc

    def start_consumers(self, workers: int = 1) -> None:
        for queue in self.queues:
            self.start_consumer(queue, workers)

    def start_consumer(self, queue: str, workers: int = 1, name: str = "") -> subprocess.Popen[bytes]:
        return self.start(
            name or f"consumer:{queue}", "shar", "queue", "start", "--queue", queue, "--workers", str(workers)
        )

    def start_engine(self, db_path: Path, port: int, *args: str, name: str = "engine") -> subprocess.Popen[bytes]:
        """The local SHAR engine as a process of its own, which a test can kill as an outage would
        (the session's shared engine runs on a thread of the test process); `args` are more options."""
        return self.start(name, "--port", str(port), "--db", str(db_path), *args, module="app.sharlite")

    def start_scheduler(self, interval: float = 0.2) -> None:
        self.start("scheduler", "shar", "queue", "scheduler", "--interval", str(interval))

    def start_web(self, port: int, workers: int = 2, threads: int = 4) -> subprocess.Popen[bytes]:
        """gunicorn serving the app, as `flask shar up` runs it."""
        return self.start(
            "web",
            "--config",
            "python:app.core.web_server",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
            "wsgi:app",
            module="gunicorn",
        )

    def wait_answering(self, url: str, timeout: float = 60.0) -> None:
        """Until `url` answers 200; an error naming any of these processes that exited meanwhile."""

        def up() -> bool:
            dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited during start-up")
            return answers(url)

        wait_until(up, timeout=timeout, interval=0.2, what=f"{url} to answer")

    def kill(self, name: str) -> None:
        """SIGKILL a process and its workers, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        """Stop every process and its workers (their whole process groups)."""
        from app.cli.processes import ProcessGroup

        children = {**{f"replaced:{i}": p for i, p in enumerate(self.replaced)}, **self.procs}
        ProcessGroup(children=children).stop(timeout=5.0)
        self.procs.clear()
        self.replaced.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


class PrivateRedis:
    """A redis-server of the run's own on a free port, which a test stops and starts again (losing
    what it held)."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.pingable, timeout=10, what="the private redis to start")

    def pingable(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
