"""Every page a person uses daily, checked in Chromium by axe-core for WCAG 2.0/2.1 A and AA violations.

axe-core is a test tool vendored under tests/browser/vendor/axe-core (see its README); it is injected
into each page here and never served by the app. One test visits every page, so the browser and the
data are set up once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.core.extensions import db
from app.jobs.queues import current_queues
from app.models import (
    ConsumerHeartbeat,
    JobAttempt,
    JobRecord,
    Notification,
    UntrackedSharInstance,
    WebhookDelivery,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.services.health.shar import check_shar_health
from app.services.launches import launch_instance
from app.services.trends import sample_queues
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.support.factories import bpmn, make_user

PASSWORD = "browser-pass-1"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(result =>
  result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(' '), summary: n.failureSummary}))})))"""


# Every page a person uses daily once signed in: (name, path with {ids} from _world, what shows it is ready).
DAILY_PAGES = [
    ("overview", "/", ".stat"),
    ("overview, 7-day trends", "/?window=7d", "#chart-instances"),
    ("workflows", "/workflows", "tr[data-workflow=Broken]"),
    ("workflow", "/workflows/OrderReview", "#diagram[data-rendered=true]"),
    ("instances", "/instances", "table"),
    ("bulk preview", "/instances/bulk/preview?action=sync&status=running", "table"),
    ("version diff", "/workflows/Versions/diff?from=1&to=2", "h1"),
    ("instance", "/instances/{running}", "#diagram .current-activity"),
    ("failed instance", "/instances/{stalled}", "#diagram[data-rendered=true]"),
    ("notifications", "/notifications", ".note.unread"),
    ("admin queues", "/admin/queues", "table"),
    ("admin failed jobs", "/admin/failed-jobs", "#failed-jobs tbody tr"),
    ("admin job", "/admin/jobs/{job}", "h1"),
    ("admin stuck instances", "/admin/stuck", "table"),
    ("admin untracked SHAR instances", "/admin/shar-instances", "table"),
    ("admin webhooks", "/admin/webhooks", "table"),
    ("admin webhook", "/admin/webhooks/{delivery}", "h1"),
    ("admin users", "/admin/users", "table"),
    ("admin audit log", "/admin/audit", "table"),
    ("metrics, for people", "/metrics", "h1"),
]


def _world() -> dict[str, str]:
    """Rows that make each page non-empty, with every workflow and instance status shown somewhere."""
    admin = make_user("ops@example.com", "admin", PASSWORD)
    make_user("ann@example.com", "user", PASSWORD)
    make_user("vic@example.com", "viewer", PASSWORD)
    create_workflow("OrderReview", bpmn("user_task"), actor=admin, async_=False)
    for fixture in ("user_task", "exclusive_gateway"):  # two versions: a diff to show
        create_workflow("Versions", bpmn(fixture), actor=admin, async_=False)
    running = launch_instance("OrderReview", {"orderId": 12345}, actor=admin, async_=False).instance
    assert running.status == "running", running.error
    running.progressed_at = utcnow() - timedelta(days=2)  # listed as stuck
    # Queued with no consumer running: a creating workflow, a launching instance, open jobs in the queues.
    create_workflow("Pending", bpmn("user_task"), actor=admin)
    launch_instance("OrderReview", {"orderId": 7}, actor=admin)
    stalled = launch_instance("OrderReview", {"orderId": "x"}, actor=admin).instance
    stalled.status, stalled.error = "failed", "SHAR refused the variables"
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_id == stalled.id)).one()
    job.state, job.attempts, job.finished_at = "failed", 1, utcnow()
    job.last_error = job.error_shape = "SHAR refused the variables"
    job.attempt_rows.append(
        JobAttempt(
            number=1,
            outcome="failed",
            error="SHAR refused the variables",
            traceback="Traceback (most recent call last): ...",
            ended_at=utcnow(),
        )
    )
    broken = create_workflow("Broken", bpmn("user_task"), actor=admin).workflow
    broken.status, broken.error = "failed", "SHAR unreachable: connection refused"
    delivered = WebhookDelivery(
        job_type="launch_instance",
        url="http://127.0.0.1:9/hook",
        body='{"ok": true}',
        target_type="instance",
        target_id=running.id,
        state="delivered",
        attempts=1,
        last_status_code=200,
        delivered_at=utcnow(),
    )
    refused = WebhookDelivery(
        job_type="create_workflow",
        url="http://127.0.0.1:9/hook",
        body='{"ok": false}',
        target_type="workflow",
        target_id=str(broken.id),
        state="failed",
        attempts=3,
        last_status_code=500,
        last_error="500 Internal Server Error",
    )
    db.session.add_all(
        [
            delivered,
            refused,
            WorkflowInstance(workflow=running.workflow, status="completed", created_by=admin.id, completed_at=utcnow()),
            WorkflowInstance(workflow=running.workflow, status="cancelled", created_by=admin.id),
            Notification(
                user_id=admin.id,
                kind="instance_completed",
                target_type="instance",
                target_id=running.id,
                title="Workflow Instance Completed: OrderReview",
                body="It finished.",
                link=f"/instances/{running.id}",
            ),
            Notification(
                user_id=admin.id,
                kind="instance_failed",
                target_type="instance",
                target_id=stalled.id,
                title="Workflow Instance Failed: OrderReview",
                body="SHAR refused the variables",
                link=f"/instances/{stalled.id}",
                read_at=utcnow(),
            ),
            UntrackedSharInstance(
                shar_instance_id="stray-1", workflow_name="OrderReview", status="running", variables={"n": 1}
            ),
            # One queue with a live consumer, the others without: both states of the queue table.
            ConsumerHeartbeat(
                queue=current_queues().names[0], beat_at=utcnow(), alive_until=utcnow() + timedelta(hours=1)
            ),
        ]
    )
    db.session.commit()
    check_shar_health()  # the stored health the overview and queues pages show
    return {"running": running.id, "stalled": stalled.id, "job": str(job.id), "delivery": str(refused.id)}


def _axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=AXE.read_text())
    return page.evaluate(RUN_AXE, WCAG_AA)


def _report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}: {len(v['nodes'])} element(s)")
            lines.extend(
                f"    {n['target']}\n      {n['summary'].replace(chr(10), chr(10) + '      ')}" for n in v["nodes"]
            )
    return "\n".join(lines)


def test_every_daily_page_has_no_wcag_a_or_aa_violations(app, live_url, browser) -> None:  # type: ignore[no-untyped-def]
    ids = _world()
    sample_queues()  # the overview's queue charts have a sample to draw
    # The app's CSP (script-src 'self') blocks the inline <script> that add_script_tag makes ("Executing
    # inline script violates ... 'script-src 'self''"), so this test's own browser context alone bypasses
    # the CSP to inject axe-core; the app still sends the same strict CSP and every other test enforces it.
    context = browser.new_context(viewport={"width": 1360, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str, path: str, ready: str | None = None) -> None:
        response = page.goto(f"{live_url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        if ready:
            expect(page.locator(ready).first).to_be_visible()
        if path != "/login":
            expect(page.locator("#bell")).to_be_visible()  # the bell is loaded by htmx after the page
        found[f"{name} ({path})"] = _axe(page)

    try:
        check("sign-in", "/login")
        page.fill("input[name=email]", "ops@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(".who .user")).to_contain_text("ops@example.com")

        for name, path, ready in DAILY_PAGES:
            check(name, path.format(**ids), ready)
            if name == "overview, 7-day trends":
                # a bar a day each for started, completed, failed; a dot for the scheduler's sample
                expect(page.locator("#chart-instances rect.bar")).to_have_count(7 * 3)
                expect(page.locator("#chart-queues circle.dot").first).to_be_visible()
                screenshot(page, "overview-trends")
        page.click("#admin-menu summary")  # the open admin menu
        expect(page.locator("#admin-menu .menu-items")).to_be_visible()
        found["admin menu open (/admin/audit)"] = _axe(page)
        page.click("#admin-menu summary")
        page.click("#views-menu summary")  # the open saved-views menu
        expect(page.locator("#views-menu .menu-items")).to_be_visible()
        found["views menu open"] = _axe(page)
    finally:
        context.close()

    failing = {where: v for where, v in found.items() if v}
    assert not failing, "WCAG A/AA violations found by axe-core:\n" + _report(failing)
