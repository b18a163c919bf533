"""Version diffs in Chromium (#12): compare a changed file with the deployed version before uploading
it, upload what was compared, then compare two versions from the workflow page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from app.core.extensions import db
from app.models import Workflow
from tests.browser.conftest import screenshot
from tests.support.factories import FIXTURES, bpmn, make_user

PASSWORD = "browser-pass-1"


def test_compare_an_upload_then_two_versions(app, live_url, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.services.launches import launch_instance

    ann = make_user("ann@example.com", "user", PASSWORD)
    page.goto(f"{live_url}/login")
    page.fill("input[name=email]", "ann@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who .user")).to_contain_text("ann@example.com")

    page.goto(f"{live_url}/workflows")  # v1, created while the page waits (no consumer needed)
    page.fill("input[name=name]", "Expense")
    page.set_input_files("input[name=file]", str(FIXTURES / "approval_timer.bpmn"))
    page.check("input[name=mode][value=wait]")
    page.click("#upload button[type=submit]:has-text('Upload')")
    expect(page.locator("tr[data-workflow=Expense] .badge")).to_have_attribute("data-status", "active")
    for _ in range(2):  # instances waiting at the review task: they still run v1
        assert launch_instance("Expense", {}, actor=ann, async_=False).instance.status == "running"

    changed = tmp_path / "expense-v2.bpmn"
    changed.write_text(bpmn("approval_timer").replace("amount &gt; 1000", "amount &gt; 5000").replace("PT1H", "PT4H"))
    page.fill("input[name=name]", "Expense")
    page.set_input_files("input[name=file]", str(changed))
    page.check("input[name=mode][value=wait]")
    page.click("#compare-upload")
    expect(page.locator("h1")).to_contain_text("against v1")
    condition = page.locator("#diff-conditions tr[data-kind=condition][data-element=to_large]")
    expect(condition).to_contain_text("= amount > 1000")
    expect(condition).to_contain_text("= amount > 5000")
    timer = page.locator("#diff-conditions tr[data-kind=timer][data-element=cool_off]")
    expect(timer).to_contain_text("timeDuration PT1H")
    expect(timer).to_contain_text("timeDuration PT4H")
    expect(page.locator("#running-instances")).to_contain_text("2 instances still run version 1")
    screenshot(page, "upload-preview")

    page.click("#confirm-form button[type=submit]")  # the compared file, carried back by the page
    expect(page).to_have_url(re.compile(r"/workflows$"))
    expect(page.locator("tr[data-workflow=Expense]")).to_contain_text("2")
    expect(page.locator("tr[data-workflow=Expense] .badge")).to_have_attribute("data-status", "active")
    db.session.expire_all()
    stored = db.session.scalars(select(Workflow.bpmn_xml).where(Workflow.name == "Expense", Workflow.version == 2))
    assert stored.one() == changed.read_text()  # byte for byte: the LF line breaks came back as they were

    page.goto(f"{live_url}/workflows/Expense")
    expect(page.locator("#compare-from")).to_have_value("1")
    expect(page.locator("#compare-to")).to_have_value("2")
    page.click("#compare-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/workflows/Expense/diff\?from=1&to=2$"))
    expect(page.locator("#diff-conditions tr[data-element=to_large]")).to_contain_text("= amount > 5000")
    expect(page.locator("#diff-changed tr[data-element=cool_off]")).to_contain_text("timeDuration PT4H")
    expect(page.locator("#running-instances")).to_contain_text("2 instances still run version 1")
    screenshot(page, "version-diff")
