"""A live dashboard (werkzeug on a free port) with real consumers, and headless Debian Chromium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.support import leaks
from tests.support.servers import serving
from tests.support.stack import REPO

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="sharboard-chromium-")
    with leaks.unmarked():  # shared by the session's tests and stopped below, not a leak of one
        playwright = sync_playwright().start()
        instance = playwright.chromium.launch(
            executable_path=executable, args=[*CHROMIUM_ARGS, f"--user-data-dir={profile}"][:-1]
        )
    try:
        yield instance
    finally:
        instance.close()
        playwright.stop()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from _tab(browser)


@pytest.fixture
def axe_page(browser: Any) -> Iterator[Any]:
    """A tab whose pages let axe be injected (the app's Content-Security-Policy is bypassed)."""
    yield from _tab(browser, bypass_csp=True)


def _tab(browser: Any, **options: Any) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # jobs run in real consumers: allow for their polling
    context = browser.new_context(viewport={"width": 1360, "height": 900}, **options)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
