"""`flask shar user create` and `flask shar token create`."""
from __future__ import annotations

import secrets

import click

from app.cli import shar_cli
from app.cli.output import FORMAT_OPTION, emit_json, fail
from app.extensions import db
from app.models import ROLES, ApiToken, User


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
    if db.session.query(User).filter_by(email=email.lower()).first():
        fail(f"a user {email} exists already")
    generated = password is None
    user, password = ensure_user(email, password, role=role, name=name)
    if fmt == "json":
        emit_json({"id": user.id, "email": user.email, "role": user.role,
                   "password": password if generated else None})
    else:
        click.echo(f"created {role} {user.email}" + (f" with password {password}" if generated else ""))


@shar_cli.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.option("--user", "email", required=True, help="E-mail of the token's owner.")
@click.option("--name", default="cli")
def create_token(email: str, name: str) -> None:
    """Create an API token; prints the token alone on stdout."""
    user = db.session.query(User).filter_by(email=email.lower()).first()
    if user is None:
        fail(f"no user {email}")
    token, plain = ApiToken.issue(user, name)
    db.session.add(token)
    db.session.commit()
    click.echo(plain)


def ensure_user(email: str, password: str | None, *, role: str, name: str = "") -> tuple[User, str]:
    """The user with this e-mail, created if missing; returns it and its (maybe generated) password."""
    password = password or secrets.token_urlsafe(12)
    user = db.session.query(User).filter_by(email=email.lower()).first()
    if user is None:
        user = User(email=email.lower(), name=name or email.split("@")[0], role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
    return user, password
