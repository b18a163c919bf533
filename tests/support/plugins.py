"""Installing the plug-in packages of tests/plugins the way an operator would (pip), into a directory of
the test run's own: the shared environment never sees them, so no other test loads them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def install_plugins(workdir: Path, *names: str) -> Path:
    """pip-install tests/plugins/<name> for each name into workdir/site and return that directory
    (put it on sys.path / PYTHONPATH to use them). Offline and without build isolation: setuptools
    and wheel come from the test extra. The sources are copied first, as setuptools builds in the tree."""
    sources = []
    for name in names:
        copy = workdir / "src" / name
        shutil.copytree(PLUGINS / name, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        sources.append(str(copy))
    site = workdir / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--target", str(site), *sources],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return site
