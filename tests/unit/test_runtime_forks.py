"""A consumer's forked workers start with what they inherited frozen out of the collector's
reach (gc.freeze before the fork), so their first full collection does not copy every inherited
page: the sync consumer grew 55 MiB over 20,000 syncs without it (bench/sync_memory.py). Run in a
child interpreter: fork hooks cannot be removed from the process that registers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, os, sys, tempfile
from app import create_app
from app.core.runtime import prepare_forks

folder = tempfile.mkdtemp()
app = create_app(instance_dir=folder, database_url=f"sqlite:///{folder}/x.db", redis_url="",
                 shar_base_url="http://127.0.0.1:9", secret_key="t", mail_enabled=False, log_level="WARNING")
gc.unfreeze()
before = gc.get_freeze_count()
if sys.argv[1] == "prepared":
    prepare_forks(app)
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, str(gc.get_freeze_count()).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(before, os.read(read, 100).decode())
"""


def _child_says(script: str, mode: str) -> list[str]:
    """What `script`, run in a new interpreter with `mode` (prepared or bare), printed, word by word."""
    done = subprocess.run(
        [sys.executable, "-c", script, mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    return done.stdout.split()


def _freeze_counts(mode: str) -> tuple[int, int]:
    before, in_child = _child_says(SCRIPT, mode)
    return int(before), int(in_child)


def test_a_forked_worker_starts_with_what_it_inherited_frozen() -> None:
    before, in_child = _freeze_counts("prepared")
    assert before == 0 and in_child > 10_000  # the app's modules and objects: tens of thousands


def test_without_the_preparation_nothing_is_frozen() -> None:
    assert _freeze_counts("bare") == (0, 0)


LOADED = """
import os, sys, tempfile
from app import create_app
from app.core.runtime import prepare_forks
from app.shar.client import SharClient, tls_context

folder = tempfile.mkdtemp()
app = create_app(instance_dir=folder, database_url=f"sqlite:///{folder}/x.db", redis_url="",
                 shar_base_url="http://127.0.0.1:9", secret_key="t", mail_enabled=False, log_level="WARNING")
if sys.argv[1] == "prepared":
    prepare_forks(app)
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    found = ["prometheus_client" in sys.modules, tls_context.cache_info().currsize == 1]
    SharClient("http://127.0.0.1:9").close()
    SharClient("http://127.0.0.1:9").close()
    found.append(tls_context.cache_info().misses)
    os.write(write, " ".join(map(str, found)).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(os.read(read, 100).decode())
"""


def test_a_forked_worker_inherits_the_metrics_library_and_the_tls_settings_built_once() -> None:
    """What each worker built on its first job (a third of that job's CPU) is built once, before the
    fork; every SHAR client of the process shares the one TLS context."""
    assert _child_says(LOADED, "prepared") == ["True", "True", "1"]
    assert _child_says(LOADED, "bare") == ["False", "False", "1"]
