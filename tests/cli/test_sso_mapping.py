"""`flask shar sso-mapping`: single sign-on's role mapping shown and replaced from the shell (how the
first admin gets in with local passwords off), audited as the CLI."""

from __future__ import annotations

from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry
from app.services.single_sign_on import RoleMapping, current_mapping


def test_sso_mapping_shows_and_replaces_the_mapping(run, app) -> None:  # type: ignore[no-untyped-def]
    shown = run("sso-mapping")
    assert shown.exit_code == 0 and shown.stdout == "claim groups, default refuse\n"
    saved = run("sso-mapping", "--claim=roles", "--rule=ops=admin", "--rule=staff=viewer")
    assert saved.exit_code == 0 and "  ops = admin\n  staff = viewer\n" in saved.stdout
    assert current_mapping() == RoleMapping("roles", "refuse", (("ops", "admin"), ("staff", "viewer")))
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "sso.mapping_change")).one()
    assert entry.actor_name == "system:cli"
    assert run("sso-mapping", "--default=viewer").exit_code == 0
    assert current_mapping().rules == (("ops", "admin"), ("staff", "viewer"))  # the rows kept
    assert run("sso-mapping", "--rule=ops").exit_code != 0
    refused = run("sso-mapping", "--default=owner")
    assert refused.exit_code != 0 and current_mapping().default_role == "viewer"
