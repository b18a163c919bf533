"""Data files under the instance directory are private to the account running sharboard (0600).

The SQLite databases (the dashboard's own when DATABASE_URL is SQLite, the local engine's
`sharlite.db`, Huey's `huey.db` without Redis) are created empty with mode 0600 before
anything opens them; SQLite gives its -wal and -shm files the database's mode. Files that
exist already with group or other permissions are narrowed to 0600. The generated
`secret_key` is written with 0600 from its first byte (app.core.config).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from app.core.config import Settings

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing; narrow it to 0600 if others may read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        narrow(path)
    else:
        os.close(fd)


def narrow(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        path.chmod(mode & 0o700)


def data_files(settings: Settings) -> list[Path]:
    """The SQLite files this configuration uses."""
    files = []
    url = make_url(settings.sqlalchemy_url())
    if (
        url.get_backend_name() == "sqlite"
        and url.database
        and url.database != ":memory:"
        and not url.database.startswith("file:")
    ):
        files.append(Path(url.database))
    if settings.uses_local_shar:
        files.append(settings.sharlite_db_path)
    if not settings.redis_url:
        files.append(settings.huey_db_path)
    return files


def secure_instance_files(settings: Settings) -> None:
    """Before any database is opened: the data files exist with 0600, older ones are narrowed."""
    instance_dir = Path(settings.instance_dir)
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in data_files(settings):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_private(path)
        for companion in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            narrow(companion)
    narrow(instance_dir / "secret_key")
