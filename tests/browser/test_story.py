"""In Chromium, at 1366 and 390 px (issue 22, the diagram tells the story; dark and local): an
instance moved past a task shows the task and the flows to it done, where it is now highlighted;
the zoom buttons change the view and Fit brings it back; a workflow's count badge covers no label;
times are shown in the zone the person chose on their settings page; axe-core stays clean."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from app.services.launches import launch_instance
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _axe, _report
from tests.support.factories import bpmn, make_user

PASSWORD = "browser-pass-1"


@pytest.mark.parametrize("width", [1366, 390])
def test_the_diagram_tells_where_an_instance_went_in_my_time_zone(app, shar, live_url, browser, width: int) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("ops@example.com", "admin", PASSWORD)
    create_workflow("Twice", bpmn("two_step"), actor=admin, async_=False)
    instance = launch_instance("Twice", {}, actor=admin, async_=False).instance
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(instance) == "running"
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    try:
        _sign_in(page, live_url)
        violations = {"settings": _choose_zone(page, live_url, "Asia/Tokyo")}

        page.goto(f"{live_url}/instances/{instance.id}")
        diagram = page.locator("#diagram[data-rendered=true]")
        expect(diagram).to_be_visible()
        for done in ("start", "first"):
            expect(diagram.locator(f'g.djs-element[data-element-id="{done}"]')).to_have_class(
                re.compile("passed-element")
            )
        for taken in ("f1", "f2"):
            expect(diagram.locator(f'g.djs-element[data-element-id="{taken}"]')).to_have_class(re.compile("taken-flow"))
        expect(diagram.locator('g.djs-element[data-element-id="second"]')).to_have_class(re.compile("current-activity"))
        for ahead in ("end", "f3"):
            expect(diagram.locator(f'g.djs-element[data-element-id="{ahead}"]')).not_to_have_class(
                re.compile("passed-element|taken-flow")
            )
        expect(page.locator("#diagram-legend")).to_contain_text("path taken")
        # Times in the chosen zone, named.
        expect(page.locator("dl.facts dd").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST$"))
        expect(page.locator("ol.timeline time").first).to_contain_text("JST")
        expect(page.locator("ol.timeline")).to_contain_text("now at Second approval (second)")
        # Zoom before the screenshot: a full-page screenshot resizes the window, and the diagram fits
        # itself to its frame again 150 ms after a resize (diagram.js), undoing a zoom made meanwhile.
        _zooms(page)
        screenshot(page, f"story-instance-{width}")
        violations["instance"] = _axe(page)

        page.goto(f"{live_url}/workflows/Twice")
        expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
        _badge_covers_no_label(page, "second")
        screenshot(page, f"story-workflow-{width}")
        assert all(v == [] for v in violations.values()), _report(violations)
    finally:
        context.close()


def _sign_in(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/login")
    page.fill("input[name=email]", "ops@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#bell")).to_be_visible()


def _choose_zone(page: Any, live_url: str, zone: str) -> list[dict[str, Any]]:
    page.goto(f"{live_url}/notifications")
    page.select_option("#time-zone", zone)
    page.locator("#time-zone-form button[type=submit]").click()
    expect(page.locator(".flash, .alert").filter(has_text=f"Times are now shown in {zone}.")).to_be_visible()
    expect(page.locator("#time-zone option:checked")).to_have_text(zone)
    return _axe(page)


def _scale(page: Any) -> float:
    """The diagram's zoom: the scale of its viewport's transform (what canvas.viewbox() reads)."""
    return page.evaluate("() => document.querySelector('#diagram .viewport').transform.baseVal.consolidate().matrix.a")


def _settles(page: Any, check: Any) -> float:
    """The diagram's zoom once `check` holds of it (the viewer zooms in the next frames)."""
    for _ in range(100):
        scale = _scale(page)
        if check(scale):
            return scale
        page.wait_for_timeout(100)
    raise AssertionError(f"the zoom stayed at {scale}")


def _zooms(page: Any) -> None:
    fitted = _scale(page)
    page.get_by_role("button", name="Zoom in").click()
    zoomed = _settles(page, lambda s: s > fitted * 1.1)  # closer
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    _settles(page, lambda s: s < zoomed / 1.2)  # further
    page.get_by_role("button", name="Fit the diagram to its frame").click()
    _settles(page, lambda s: abs(s - fitted) < 0.01)  # fitted again


def _badge_covers_no_label(page: Any, element_id: str) -> None:
    badge = page.locator(".djs-overlay .count-badges").first
    expect(badge).to_be_visible()
    b = badge.bounding_box()
    label = page.locator(f'#diagram g.djs-element[data-element-id="{element_id}"] text').first.bounding_box()
    apart = (
        b["x"] + b["width"] <= label["x"]
        or label["x"] + label["width"] <= b["x"]
        or b["y"] + b["height"] <= label["y"]
        or label["y"] + label["height"] <= b["y"]
    )
    assert apart, (b, label)
