"""Templates decide nothing about roles or statuses: what a page offers is a set the services give
(services.access.allowed_actions and nav_actions), and display facts come as values. A template
that compares a role or a status (to show a button, a link, a form, or to poll) fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# The code of a template: its {{ ... }} and {% ... %} parts (HTML text such as role="status" is not).
JINJA = re.compile(r"\{[{%].*?[%}]\}", re.DOTALL)
VALUES = (
    "admin",
    "viewer",
    "user",
    "creating",
    "active",
    "inactive",
    "launching",
    "running",
    "completed",
    "failed",
    "cancelled",
    "queued",
    "retrying",
    "held",
    "succeeded",
    "finished",
)
DECISIONS = [
    re.compile(r"\b(is_admin|can_write|can_change|can_retry|can_open)\b"),
    # x.role == ..., status != ..., state in (...), status not in ...
    re.compile(r"\b(role|status|state|job_type)\s*(==|!=|\bnot\s+in\b|\bin\b)"),
    # ... == status, x != role: the same decision written the other way round
    re.compile(r"(==|!=)\s*(role|status|state|job_type)\b"),
    # ... == "failed", "running" in x, 'admin' != x
    re.compile(r"""(==|!=)\s*["']({0})["']|["']({0})["']\s*(==|!=|\bin\b|\bnot\s+in\b)""".format("|".join(VALUES))),
    # ... == u.role, if u.active, 'a' if health.healthy else 'b': a row's role or state decided here
    re.compile(r"(==|!=)\s*\w+\.(role|status|state)\b"),
    re.compile(r"\bif\s+(not\s+)?\w+\.(\w+_)?(active|healthy|alive|is_admin)\b"),
    # jobs.get("failed"), counts["running"]: a count picked by its status in the template
    re.compile(r"""(\.get\(\s*|\[\s*)["']({})["']""".format("|".join(VALUES))),
    # {'failed': 'red', ...}[d.state]: a table of states kept in the template
    re.compile(r"\}\s*\[\s*[\w.]*\b(role|status|state)\s*\]"),
    # ["launching", "running", ...], ("failed", "failed", n): statuses listed in the template, which
    # then chooses what to show for each; the service gives the rows (status, count) instead
    re.compile(r"""["']({0})["']\s*,\s*["']({0})["']""".format("|".join(VALUES))),
]


def decisions_in(source: str) -> list[str]:
    """The Jinja parts of `source` that compare a role or a status."""
    return [part for part in JINJA.findall(source) if any(p.search(part) for p in DECISIONS)]


def test_no_template_compares_a_role_or_a_status() -> None:
    found = {
        str(path.relative_to(TEMPLATES)): decisions_in(path.read_text())
        for path in sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
    }
    assert {name: parts for name, parts in found.items() if parts} == {}


@pytest.mark.parametrize(
    "source",
    [
        "{% if current_user.is_admin %}",
        '{{ "x" if current_user.can_write }}',
        '{% if current_user.role != "user" %}',
        '{% if instance.status == "running" %}',
        '{% if instance.status in ("launching", "running") %}',
        "{{ 'a' if job.state == 'succeeded' else 'b' }}",
        "{%- if poll_url and status not in terminal_statuses %}",
        '{% if "failed" == workflow.status %}',
        '{% if can_change and workflow.status in ("active", "failed") %}',
        # which option is chosen is a service's answer too (display.filter_options)
        "{% if s == status %}",
        # the menu's current entry is app.web.context.current_page's to say
        "{% if request.blueprint == 'admin' %}",
        # a row's liveness or state decided here, by name or through a table in the template
        "{% if r.consumer_alive %}",
        "{{ {'delivered': 'completed', 'failed': 'failed'}[d.state] }}",
        # statuses listed in the template, which then maps each to what it shows
        '{% for s in ["launching", "running", "completed"] %}',
        '{% for kind, status, shown in (("waiting", "running", n.waiting), ("failed", "failed", n.failed)) %}',
        # a count picked by its status here, then a link shown or not for it (the queues page did)
        '{% if r.jobs.get("failed") %}',
        '{{ counts["running"] }}',
    ],
)
def test_the_scan_finds_each_kind_of_decision(source: str) -> None:
    assert decisions_in(source) == [source]


@pytest.mark.parametrize(
    "source",
    [
        '{% if "admin_pages" in nav %}',
        '{% if "launch" not in actions %}',
        "{{ badge(i.status) }}",
        '<div role="status">',
        "{{ current_user.role }}",
        "{% if chosen %}selected{% endif %}",
        '{% if "retry" in rj.actions %}',
        "{{ current_page('admin') }}",
        "{% for s, n in instance_counts %}",
        "{{ r.failed }}",
    ],
)
def test_the_scan_lets_offers_and_display_through(source: str) -> None:
    assert decisions_in(source) == []
