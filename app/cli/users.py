"""`flask shar user create` and `flask shar token create`."""

from __future__ import annotations

import click

from app.cli.group import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json
from app.models import ROLES
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
