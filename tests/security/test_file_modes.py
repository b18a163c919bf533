"""Data files under the instance directory are created 0600 (and older, wider ones narrowed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from flask_migrate import upgrade

from app import create_app
from app.cli.stack import engine_command
from app.core.config import Settings
from app.core.extensions import db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_install_creates_its_files_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    old = os.umask(0o022)  # the usual umask: without care, files would be 0644
    try:
        app = create_app(instance_dir=str(instance), redis_url="", secret_key="")
        with app.app_context():
            upgrade()
            db.session.execute(db.text("SELECT 1"))
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(old)
    files = {p.name: _mode(p) for p in instance.iterdir() if p.is_file()}
    assert {"sharboard.db", "secret_key", "sharlite.db", "huey.db"} <= set(files), files
    assert all(mode == 0o600 for mode in files.values()), {name: oct(mode) for name, mode in files.items()}
    assert _mode(instance) == 0o700


def test_an_older_world_readable_install_is_narrowed(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    for name in ("sharboard.db", "sharlite.db", "secret_key"):
        (instance / name).write_text("k" if name == "secret_key" else "")
        (instance / name).chmod(0o644)
    create_app(instance_dir=str(instance), redis_url="")
    assert {name: _mode(instance / name) for name in ("sharboard.db", "sharlite.db", "secret_key")} == {
        "sharboard.db": 0o600,
        "sharlite.db": 0o600,
        "secret_key": 0o600,
    }


def test_the_local_engine_gets_the_prepared_file(tmp_path: Path) -> None:
    settings = Settings.from_env({}, instance_dir=str(tmp_path / "instance"), secret_key="x")
    create_app(settings)
    command = engine_command(settings)
    db_file = Path(command[command.index("--db") + 1])
    assert db_file.exists() and _mode(db_file) == 0o600
