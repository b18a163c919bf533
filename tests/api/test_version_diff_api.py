"""Version diffs (#12) through the API, the CLI and the pages (test client): two stored versions, or
a file against the deployed one (nothing stored), with the instances still running the old ones."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import AuditEntry, JobRecord, Workflow
from tests.api.conftest import bearer_for
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

V1 = bpmn("approval_timer")
V2 = (
    V1.replace("amount &gt; 1000", "amount &gt; 5000")
    .replace("PT1H", "PT4H")
    .replace('name="Review expense"', 'name="Review the expense"')
)
CONDITION = ("to_large", "= amount > 1000", "= amount > 5000")
TIMER = ("cool_off", "timeDuration PT1H", "timeDuration PT4H")


def _deploy_v1_with_instances(api: Any, client: Any) -> None:
    """Expense v1 (active), two running instances of ann (the api user) and one of bob."""
    made = api.post("/api/shar/workflows", json={"name": "Expense", "bpmn_xml": V1, "async": False})
    assert made.status_code == 201, made.get_json()
    for _ in range(2):
        assert api.post("/api/shar/workflows/Expense/launch", json={"async": False}).status_code == 201
    bob = bearer_for("user", "bob@example.com")
    assert client.post("/api/shar/workflows/Expense/launch", json={"async": False}, headers=bob).status_code == 201


def _stored() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Workflow)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
        db.session.scalar(select(func.count()).select_from(JobRecord)),
    )


def _pairs(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["id"], e["old"], e["new"]) for e in entries]


def test_api_previews_an_upload_then_diffs_two_versions(app, api) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    _deploy_v1_with_instances(api, client)
    before = _stored()

    preview = api.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["message"].startswith("The file against version 1")
    data = body["data"]
    assert (data["from_version"], data["to_version"], data["next_version"], data["new_workflow"]) == (1, None, 2, False)
    # ann sees her own two instances; bob's is not hers to count
    assert data["running"] == [{"version": 1, "instances": 2}] and data["running_counts_all"] is False
    assert data["may_upload"] is True and data["warnings"][0]["element_id"] == "to_large"
    diff = data["diff"]
    assert _pairs(diff["conditions"]) == [CONDITION] and _pairs(diff["timers"]) == [TIMER]
    assert {c["id"]: [ch["field"] for ch in c["changes"]] for c in diff["changed"]} == {
        "review": ["name"],
        "to_large": ["condition"],
        "cool_off": ["timer"],
    }
    assert diff["added"] == diff["removed"] == [] and diff["identical"] is False
    assert _stored() == before  # nothing stored, audited or queued

    admin = api.as_role("admin", "root@example.com")
    counted = admin.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2}).get_json()["data"]
    assert counted["running"] == [{"version": 1, "instances": 3}] and counted["running_counts_all"] is True
    assert counted["may_upload"] is True
    bob = client.post(
        "/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2}, headers=bearer_for("user", "carol@example.com")
    ).get_json()["data"]
    assert bob["may_upload"] is False and bob["running"] == []  # Expense is ann's; carol has no instances

    assert api.post("/api/shar/workflows", json={"name": "Expense", "bpmn_xml": V2}).status_code == 202
    shown = api.get("/api/shar/workflows/Expense/diff?from=1&to=2")
    assert shown.status_code == 200 and shown.headers.get("ETag")
    data = shown.get_json()["data"]
    assert (data["from_version"], data["to_version"], data["versions"]) == (1, 2, [1, 2])
    assert _pairs(data["diff"]["conditions"]) == [CONDITION] and _pairs(data["diff"]["timers"]) == [TIMER]
    assert data["running"] == [{"version": 1, "instances": 2}]
    back = api.get("/api/shar/workflows/Expense/diff?from=2&to=1").get_json()["data"]["diff"]
    assert _pairs(back["conditions"]) == [(CONDITION[0], CONDITION[2], CONDITION[1])]
    same = api.get("/api/shar/workflows/Expense/diff?from=2&to=2").get_json()["data"]["diff"]
    assert same["identical"] is True and same["unchanged"] == 10
    # A preview compares with the latest ACTIVE version: v2 is still being created, so v1 it is.
    assert api.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2}).get_json()["data"]["next_version"] == 3


def test_api_refusals(app, api) -> None:  # type: ignore[no-untyped-def]
    api.post("/api/shar/workflows", json={"name": "Expense", "bpmn_xml": V1})
    assert api.get("/api/shar/workflows/Expense/diff?from=1&to=9").status_code == 404
    assert api.get("/api/shar/workflows/Nope/diff?from=1&to=1").status_code == 404
    for query, field in (
        ("from=abc&to=1", "from"),
        ("from=1", "to"),
        ("from=0&to=1", "from"),
        ("from=1&to=99999999999", "to"),
    ):
        answer = api.get(f"/api/shar/workflows/Expense/diff?{query}")
        assert answer.status_code == 422 and field in answer.get_json()["errors"], query

    # A refused file says why, exactly as the create endpoint does.
    refused = api.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": bpmn("script_task")})
    created = api.post("/api/shar/workflows", json={"name": "Expense", "bpmn_xml": bpmn("script_task")})
    assert refused.status_code == created.status_code == 422
    assert refused.get_json()["errors"] == created.get_json()["errors"]
    assert "script tasks are not allowed" in refused.get_json()["errors"]["bpmn_xml"][0]
    assert api.post("/api/shar/workflows/Expense/diff", json={}).get_json()["errors"] == {
        "bpmn_xml": ["bpmn_xml is required"]
    }
    assert "name" in api.post("/api/shar/workflows/-bad/diff", json={"bpmn_xml": V1}).get_json()["errors"]

    fresh = api.post("/api/shar/workflows/Brand new/diff", json={"bpmn_xml": V1}).get_json()
    assert fresh["message"] == "A new workflow: nothing to compare with"
    assert (fresh["data"]["new_workflow"], fresh["data"]["diff"], fresh["data"]["next_version"]) == (True, None, 1)
    # Expense v1 is still being created (nothing consumes the queue): nothing is deployed yet.
    pending = api.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2}).get_json()
    assert pending["message"].startswith("No version is active") and pending["data"]["new_workflow"] is False


def test_cli_diffs_versions_and_files(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow
    from tests.cli.conftest import cli_runner

    ann = make_user("ann@example.com")
    create_workflow("Expense", V1, actor=ann, async_=False)
    launch_instance("Expense", {}, actor=ann, async_=False)
    create_workflow("Expense", V2, actor=ann, async_=False)
    run = cli_runner(app)

    text = run("workflow", "diff", "Expense", "--from", "1", "--to", "2")
    assert text.exit_code == 0, text.output
    assert "Expense: v1 -> v2" in text.output and "1 instance still runs version 1" in text.output
    assert "condition of to_large: '= amount > 1000' -> '= amount > 5000'" in text.output
    assert "timer of cool_off: 'timeDuration PT1H' -> 'timeDuration PT4H'" in text.output
    assert "~ userTask review: name 'Review expense' -> 'Review the expense'" in text.output
    as_json = json.loads(run("workflow", "diff", "Expense", "--from", "1", "--to", "2", "--format=json").output)
    assert _pairs(as_json["diff"]["timers"]) == [TIMER] and as_json["running_total"] == 1

    v3 = tmp_path / "v3.bpmn"
    v3.write_text(V2.replace('name="Done"', 'name="Finished"'))
    preview = run("workflow", "diff", "Expense", str(v3))
    assert preview.exit_code == 0, preview.output
    assert "v2 (deployed) -> the file (would be v3)" in preview.output
    assert "~ endEvent done: name 'Done' -> 'Finished'" in preview.output
    assert (
        len(run("workflow", "list", "--format=json").output)
        and db.session.scalar(select(func.count()).select_from(Workflow)) == 2
    )  # the preview stored nothing

    both = run("workflow", "diff", "Expense", str(v3), "--from", "1")
    assert both.exit_code == 1 and "either FILE or --from and --to" in both.output
    assert run("workflow", "diff", "Expense", "--from", "1").exit_code == 1
    bad = tmp_path / "bad.bpmn"
    bad.write_text(bpmn("script_task"))
    refused = run("workflow", "diff", "Expense", str(bad))
    assert refused.exit_code == 1 and "script tasks are not allowed" in refused.output
    missing = run("workflow", "diff", "Expense", "--from", "1", "--to", "7")
    assert missing.exit_code == 1 and "no version 7" in missing.output


def test_pages_preview_then_upload_the_compared_file(app) -> None:  # type: ignore[no-untyped-def]
    from app.services.workflows import create_workflow

    ann = make_user("ann@example.com", "user", "pw-ann-12345")
    create_workflow("Expense", V1, actor=ann, async_=False)
    browser = Browser(app, "ann@example.com", "pw-ann-12345")
    crlf_free = V2.replace("\r\n", "\n")
    stored_before = [
        db.session.scalar(select(func.count()).select_from(model)) for model in (Workflow, JobRecord, AuditEntry)
    ]

    def upload(path: str, text: str, **extra: Any) -> Any:
        return browser.post(
            path,
            data={
                "name": "Expense",
                "description": "bigger threshold",
                "mode": "async",
                "file": (_bytes(text), "v2.bpmn"),
                **extra,
            },
        )

    page = upload("/workflows/_preview", crlf_free)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:2000]
    assert 'data-element="to_large" data-kind="condition"' in html and "= amount &gt; 5000" in html
    assert 'data-element="cool_off" data-kind="timer"' in html and "timeDuration PT4H" in html
    assert "No instance of Expense is launching or running" in html
    # The preview stored nothing: no version, no job, no audit entry.
    assert [
        db.session.scalar(select(func.count()).select_from(model)) for model in (Workflow, JobRecord, AuditEntry)
    ] == stored_before

    # The confirming form carries the text back; a browser sends its line breaks as CRLF.
    fields = dict(re.findall(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"', html))
    carried = _unescape(fields["bpmn_xml"])
    assert carried == crlf_free and fields["name"] == "Expense"
    done = browser.post(
        "/workflows/_upload",
        data={
            "name": "Expense",
            "description": fields["description"],
            "mode": "async",
            "bpmn_xml": carried.replace("\n", "\r\n"),
            "bpmn_sha256": fields["bpmn_sha256"],
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    stored = db.session.scalars(select(Workflow).where(Workflow.version == 2)).one()
    assert stored.bpmn_xml == crlf_free and stored.description == "bigger threshold"

    # A file too large to carry back through a form (here: a lowered request limit) is chosen again.
    limit, app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_CONTENT_LENGTH"], 10_000
    again = upload("/workflows/_preview", V1).get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = limit
    assert "too large to carry back" in again and 'name="bpmn_xml"' not in again and 'type="file"' in again

    refused = upload("/workflows/_preview", bpmn("script_task"))
    assert refused.status_code == 422 and "script tasks are not allowed" in refused.get_data(as_text=True)
    lost = browser.post("/workflows/_upload", data={"name": "Expense", "mode": "async"})
    assert lost.status_code == 422 and "the compared file did not come back" in lost.get_data(as_text=True)
    # A text that is not the compared file (its digest differs after the form's CRLF is undone, as
    # with mixed line breaks) is never stored in its place: choose it again.
    mixed = V1.replace("\n", "\r\n", 1)
    changed = browser.post(
        "/workflows/_upload",
        data={
            "name": "Expense",
            "mode": "async",
            "bpmn_xml": mixed + " ",
            "bpmn_sha256": hashlib.sha256(mixed.encode()).hexdigest(),
        },
    )
    assert changed.status_code == 422 and "choose it again" in changed.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Workflow).where(Workflow.name == "Expense")) == 2

    # The confirming upload is a door to create_workflow: its rule holds there too.
    make_user("bob@example.com", "user", "pw-bob-12345")
    bob = Browser(app, "bob@example.com", "pw-bob-12345")
    seen = bob.post(
        "/workflows/_preview", data={"name": "Expense", "mode": "async", "file": (_bytes(V1), "v1.bpmn")}
    ).get_data(as_text=True)
    assert "You may not add versions to Expense" in seen and 'id="confirm-form"' not in seen
    creates = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workflow.create")
    )
    denied = bob.post(
        "/workflows/_upload",
        data={
            "name": "Expense",
            "mode": "async",
            "bpmn_xml": V1,
            "bpmn_sha256": hashlib.sha256(V1.encode()).hexdigest(),
        },
    )
    assert denied.status_code == 403 and "only its owner or an admin" in denied.get_data(as_text=True)
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workflow.create"))
        == creates
    )

    shown = browser.get("/workflows/Expense/diff?from=1&to=2")
    assert shown.status_code == 200 and 'data-element="to_large"' in shown.get_data(as_text=True)
    assert 'id="compare-versions"' in browser.get("/workflows/Expense").get_data(as_text=True)
    assert browser.get("/workflows/Expense/diff?from=1&to=x").status_code == 422


def _bytes(text: str) -> Any:
    import io

    return io.BytesIO(text.encode())


def _unescape(value: str) -> str:
    import html

    return html.unescape(value)


# -- a diff's cost is bounded per person (#19) ------------------------------------------------


@pytest.fixture
def small_diffs(overrides: dict[str, Any]) -> None:
    """Diffs of files up to 2 KiB (V1 and V2 are 1.3 KiB), 4 a minute per person; before `app`."""
    overrides.update(max_diff_bytes=2048, diff_rate_limit="4 per minute")


def _versions(*texts: str) -> None:
    """Expense v1, v2, ... stored as deployed, without SHAR (a diff reads only the stored text)."""
    owner = make_user("ann@example.com", "user", "pw-ann-12345")
    for number, text in enumerate(texts, start=1):
        db.session.add(
            Workflow(
                name="Expense",
                version=number,
                bpmn_xml=text,
                status="active",
                summary={},
                bpmn_sha256=hashlib.sha256(text.encode()).hexdigest(),
                created_by=owner.id,
            )
        )
    db.session.commit()


def test_a_diff_over_the_size_limit_is_refused_naming_the_size_and_the_limit(small_diffs, app) -> None:  # type: ignore[no-untyped-def]
    big = V2 + " " * 2000  # 3.3 KiB: over the 2 KiB limit, under the upload limit
    _versions(V1, big)
    ann = bearer_for("user", "ann-api@example.com")
    client = app.test_client()

    upload = client.post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": big}, headers=ann)
    assert upload.status_code == 413, upload.get_json()
    assert upload.get_json()["errors"]["bpmn_xml"] == [
        "the file is 3 KiB; a diff compares files up to 2 KiB (SHARBOARD_MAX_DIFF_BYTES)"
    ]
    stored = client.get("/api/shar/workflows/Expense/diff?from=1&to=2", headers=ann)
    assert stored.status_code == 422
    assert stored.get_json()["message"] == (
        "version 2 of 'Expense' is 3 KiB; a diff compares files up to 2 KiB (SHARBOARD_MAX_DIFF_BYTES)"
    )
    browser = Browser(app, "ann@example.com", "pw-ann-12345")
    page = browser.post(
        "/workflows/_preview", data={"name": "Expense", "mode": "async", "file": (_bytes(big), "v3.bpmn")}
    )
    assert page.status_code == 422 and "a diff compares files up to 2 KiB" in page.get_data(as_text=True)
    shown = browser.get("/workflows/Expense/diff?from=2&to=1")
    assert shown.status_code == 422 and "version 2 of &#39;Expense&#39; is 3 KiB" in shown.get_data(as_text=True)
    # Within the limit, as before.
    assert client.get("/api/shar/workflows/Expense/diff?from=1&to=1", headers=ann).status_code == 200


def test_one_diff_at_a_time_per_person_and_so_many_a_minute(database, small_diffs, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.services import version_diffs

    _versions(V1, V2)
    ann, bob = bearer_for("user", "ann-api@example.com"), bearer_for("user", "bob@example.com")
    entered, release = threading.Event(), threading.Event()
    diff = version_diffs.diff_bpmn

    def first_one_slow(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():  # the first diff holds on until told: a long one, under way
            entered.set()
            assert release.wait(30)
        return diff(*args, **kwargs)

    monkeypatch.setattr(version_diffs, "diff_bpmn", first_one_slow)
    answers: dict[str, Any] = {}
    under_way = threading.Thread(
        target=lambda: answers.update(
            first=app.test_client().post("/api/shar/workflows/Expense/diff", json={"bpmn_xml": V2}, headers=ann)
        )
    )
    under_way.start()
    try:
        assert entered.wait(30)
        # A second of ann's while the first runs (another door, another process alike): 429.
        second = app.test_client().get("/api/shar/workflows/Expense/diff?from=1&to=2", headers=ann)
        assert second.status_code == 429, second.get_json()
        assert second.headers["Retry-After"] == "2"
        assert "still being computed; one runs at a time per person" in second.get_json()["message"]
        # Bob is not held up by ann's.
        assert app.test_client().get("/api/shar/workflows/Expense/diff?from=1&to=2", headers=bob).status_code == 200
    finally:
        release.set()
        under_way.join(30)
    assert answers["first"].status_code == 200, answers["first"].get_json()

    # Done: ann's next ones run, up to 4 a minute each (the refused one not counted): her 5th is refused.
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/shar/workflows/Expense/diff?from=1&to=2", headers=ann).status_code == 200
    spent = client.get("/api/shar/workflows/Expense/diff?from=2&to=1", headers=ann)
    assert spent.status_code == 429 and 0 < int(spent.headers["Retry-After"]) <= 60
    assert spent.get_json()["message"].startswith("too many diffs: at most 4 per minute per person; try again in ")
    assert client.get("/api/shar/workflows/Expense/diff?from=1&to=2", headers=bob).status_code == 200
