"""`flask shar user create`, `flask shar token create` and `flask shar sso-mapping`."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json
from app.models import ROLES
from app.services import single_sign_on as sso
from app.services import users as service
from app.services.actors import CLI


@shar_cli.group("user")
def user_group() -> None:
    """Manage users."""


@user_group.command("create")
@click.argument("email")
@click.option("--password", help="Generated and printed when omitted.")
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
@click.option("--name", default="")
@FORMAT_OPTION
def create_user(email: str, password: str | None, role: str, name: str, fmt: str) -> None:
    """Create a user."""
    new = service.create_user(email, actor=CLI, password=password, role=role, name=name)
    if fmt == "json":
        emit_json(
            {
                "id": new.user.id,
                "email": new.user.email,
                "role": new.user.role,
                "password": new.password if new.generated else None,
            }
        )
    else:
        click.echo(f"created {role} {new.user.email}" + (f" with password {new.password}" if new.generated else ""))


@shar_cli.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.option("--user", "email", required=True, help="E-mail of the token's owner.")
@click.option("--name", default="cli")
def create_token(email: str, name: str) -> None:
    """Create an API token; prints the token alone on stdout."""
    click.echo(service.issue_token(actor=CLI, email=email, name=name).plain)


@shar_cli.command("sso-mapping")
@click.option("--claim", default=None, help="The claim holding the values (groups, roles, realm_access.roles).")
@click.option("--default", "default_role", default=None, help="Role of whoever matches no row, or 'refuse'.")
@click.option("--rule", "rules", multiple=True, metavar="VALUE=ROLE", help="A claim value and its role (repeat).")
def sso_mapping(claim: str | None, default_role: str | None, rules: tuple[str, ...]) -> None:
    """Show single sign-on's role mapping; with options, replace it (how the first admin gets in when
    local passwords are off)."""
    mapping = sso.mapping_for_admin(actor=CLI)
    if claim is not None or default_role is not None or rules:
        if any("=" not in rule for rule in rules):
            raise click.BadParameter("give each rule as VALUE=ROLE", param_hint="--rule")
        pairs = [rule.rpartition("=")[::2] for rule in rules] if rules else list(mapping.rules)
        saved = sso.save_mapping(
            actor=CLI,
            claim=mapping.claim if claim is None else claim,
            default_role=mapping.default_role if default_role is None else default_role,
            rules=pairs,
        )
        mapping = saved.mapping
        click.echo(
            f"saved; {saved.sessions_ended} single sign-on account(s) signed out" if saved.changed else "unchanged"
        )
    click.echo(f"claim {mapping.claim}, default {mapping.default_role}")
    for value, role in mapping.rules:
        click.echo(f"  {value} = {role}")
