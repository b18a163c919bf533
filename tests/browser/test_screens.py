"""Every screen and every keyboard (issue 22): each daily page at 1366 and 390 px wide, light and dark,
never scrolls sideways, never cuts a date, and is clean for axe-core; the skip link comes first, menus
close with Escape and give focus back, and focus moves to what an action changed."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from app.services.trends import sample_queues
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import DAILY_PAGES, PASSWORD, _axe, _report, _world

WIDTHS = (1366, 390)
# What sticks out of the page at the right, or a date cut by its box: each is a finding.
OVERFLOW = r"""() => {
  const found = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    found.push(`page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  const date = /\d{4}-\d{2}-\d{2}/;
  for (const el of document.querySelectorAll('main *')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (!date.test(own) || el.closest('.diagram') || !el.getClientRects().length) { continue; }
    const range = document.createRange();
    range.selectNodeContents(el);
    const box = range.getBoundingClientRect();
    let clip = {left: 0, right: window.innerWidth};
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') { clip = up.getBoundingClientRect(); break; }
    }
    if (box.left < clip.left - 1 || box.right > clip.right + 1 || box.right > window.innerWidth + 1) {
      found.push(`date cut: ${own.trim().slice(0, 40)} (${Math.round(box.left)}..${Math.round(box.right)})`);
    }
  }
  return found;
}"""


def _sign_in(page: Any, live_url: str, email: str = "ops@example.com") -> None:
    page.goto(f"{live_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who .user")).to_contain_text(email)


def _visit_all(page: Any, live_url: str, ids: dict[str, str], mode: str) -> tuple[dict, dict]:
    """Every daily page in one mode: what axe-core finds and what sticks out, by page."""
    violations: dict[str, list[dict[str, Any]]] = {}
    overflow: dict[str, list[str]] = {}
    for name, path, ready in [("sign-in", "/login", "form"), *DAILY_PAGES]:
        if name == "overview":  # signed in after the sign-in page is checked
            _sign_in(page, live_url)
        response = page.goto(f"{live_url}{path.format(**ids)}")
        assert response is not None and response.status == 200, (path, response and response.status)
        expect(page.locator(ready).first).to_be_visible()
        if path != "/login":
            expect(page.locator("#bell")).to_be_visible()  # loaded by htmx after the page
        where = f"{name} ({path.format(**ids)}) at {mode}"
        violations[where] = _axe(page)
        overflow[where] = page.evaluate(OVERFLOW)
        screenshot(page, f"screens-{mode}-{name.replace(' ', '-').replace(',', '')}")
    return violations, overflow


def test_every_daily_page_fits_both_widths_light_and_dark_and_is_axe_clean(app, live_url, browser) -> None:  # type: ignore[no-untyped-def]
    ids = _world()
    sample_queues()
    violations: dict[str, list[dict[str, Any]]] = {}
    overflow: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        for width in WIDTHS:
            # bypass_csp only to inject axe-core (see test_accessibility.py); the app's CSP is unchanged.
            context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.emulate_media(color_scheme=scheme)
            try:
                assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
                found, wide = _visit_all(page, live_url, ids, f"{width}-{scheme}")
            finally:
                context.close()
            violations.update(found)
            overflow.update(wide)
    sticking_out = {where: what for where, what in overflow.items() if what}
    assert not sticking_out, "Pages wider than the window, or dates cut:\n" + "\n".join(
        f"{where}: {'; '.join(what)}" for where, what in sticking_out.items()
    )
    failing = {where: v for where, v in violations.items() if v}
    assert not failing, "WCAG A/AA violations found by axe-core:\n" + _report(failing)
