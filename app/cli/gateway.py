"""`flask shar gateway check URL`: does that SHAR gateway speak the contract sharboard relies on?"""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail, table
from app.services.actors import CLI
from app.services.gateway_checks import check_gateway


@shar_cli.group("gateway")
def gateway_group() -> None:
    """A SHAR gateway other than the configured one."""


@gateway_group.command("check")
@click.argument("url")
@FORMAT_OPTION
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
def check(url: str, fmt: str, timeout: float) -> None:
    """Run the conformance suite against the gateway at URL: each check passed, failed (with the answer
    it got) or not offered. Exits 1 when a check failed; an extension not offered does not fail it."""
    report = check_gateway(url, actor=CLI, timeout=timeout)
    if fmt == "json":
        emit_json(report.as_dict())
    else:
        rows = [
            {
                "check": r.name,
                "part": r.part,
                "outcome": r.outcome,
                # One line per check: an answer's own line breaks (an HTML error page) are folded.
                "detail": " ".join((r.detail + (f"; got: {r.request} -> {r.answer}" if r.request else "")).split()),
            }
            for r in report.results
        ]
        table(rows, ["check", "part", "outcome", "detail"])
        counts = ", ".join(f"{n} {o}" for o, n in report.counts().items() if n)
        click.echo(f"{report.url} (run {report.run}): {counts}")
        if report.leftovers:
            click.echo(f"not deleted on the gateway: {', '.join(report.leftovers)}")
    if not report.ok:
        fail(f"{report.counts()['failed']} checks failed against {report.url}")
