"""Every screen and every keyboard (issue 22): each daily page at 1366 and 390 px wide, light and dark,
never scrolls sideways, never cuts a date, and is clean for axe-core; the skip link comes first, menus
close with Escape and give focus back, and focus moves to what an action changed."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.core.extensions import db
from app.models import Notification, User
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


# Resolves true once htmx has settled new content for the element of this id (a poll), false after 10 s.
SWAP_SEEN = """id => new Promise(done => {
  const seen = e => { if (e.detail.target && e.detail.target.id === id) { done(true); } };
  document.addEventListener('htmx:afterSettle', seen);
  setTimeout(() => done(false), 10000);
})"""


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
                # The theme did change: the page's background is the dark one only in dark mode.
                background = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
                assert background == {"light": "rgb(245, 246, 248)", "dark": "rgb(15, 20, 28)"}[scheme]
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


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const e = document.activeElement;
          return {tag: e.tagName, id: e.id, text: (e.textContent || '').trim().slice(0, 60), cls: e.className}; }"""
    )


def test_keyboard_skip_link_menu_escape_and_focus_after_an_action(app, live_url, browser) -> None:  # type: ignore[no-untyped-def]
    ids = _world()
    admin = db.session.scalars(select(User).where(User.email == "ops@example.com")).one()
    for width in WIDTHS:
        db.session.add(
            Notification(
                user_id=admin.id,
                kind="instance_completed",
                target_type="instance",
                target_id=f"note-{width}",
                title=f"Done at {width}",
                body="It finished.",
                link=f"/instances/{ids['running']}",
            )
        )
        db.session.commit()  # an unread note for each width to mark read
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            _sign_in(page, live_url)
            page.goto(f"{live_url}/instances")
            expect(page.locator("#bell")).to_be_visible()
            # Tab first reaches the skip link, shown while focused; Enter puts the focus on the page's content.
            page.keyboard.press("Tab")
            skip = page.locator(".skip-link")
            expect(skip).to_be_focused()
            expect(skip).to_be_in_viewport()
            screenshot(page, f"keyboard-{width}-skip-link")
            page.keyboard.press("Enter")
            assert _focused(page)["id"] == "main"
            page.keyboard.press("Tab")  # the next stop is inside the content, not the header
            assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")

            # The admin menu: opened from the keyboard, closed by Escape with the focus back on its toggle.
            toggle = page.locator("#admin-menu summary")
            toggle.focus()
            page.keyboard.press("Enter")
            expect(page.locator("#admin-menu .menu-items")).to_be_visible()
            page.keyboard.press("Tab")
            assert _focused(page)["text"] == "Queues"
            screenshot(page, f"keyboard-{width}-menu-open")
            page.keyboard.press("Escape")
            expect(page.locator("#admin-menu .menu-items")).to_be_hidden()
            expect(toggle).to_be_focused()
            # Tabbing out of an open menu closes it too.
            page.keyboard.press("Enter")
            expect(page.locator("#admin-menu .menu-items")).to_be_visible()
            for _ in range(page.locator("#admin-menu .menu-items a").count() + 1):  # its links, then out
                page.keyboard.press("Tab")
            expect(page.locator("#admin-menu .menu-items")).to_be_hidden()

            # A poll that replaces the row holding the focus gives it back to the same link in the new rows.
            assert page.locator("#instance-rows[hx-trigger]").count() == 1, "the list should poll: something moves"
            link = page.locator("#instance-rows tr a[href^='/instances/']").first
            href = link.get_attribute("href")
            link.focus()
            swapped = page.evaluate(SWAP_SEEN, "instance-rows")
            assert swapped, "no poll replaced the rows within 10 s"
            assert page.evaluate("() => document.activeElement.getAttribute('href')") == href

            # Marking a notification read from the keyboard: the note replaced by htmx gets the focus,
            # not the top of the page.
            page.goto(f"{live_url}/notifications")
            note = page.locator(".note.unread").first
            note_id = note.get_attribute("id")
            note.locator("button", has_text="Mark read").focus()
            page.keyboard.press("Enter")
            expect(page.locator(f"#{note_id}")).not_to_have_class("note unread")
            expect(page.locator(f"#{note_id}")).to_be_focused()
            screenshot(page, f"keyboard-{width}-focus-after-mark-read")
        finally:
            context.close()
