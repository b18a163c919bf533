"""Two first sign-ins of the same person at the same moment: the second finds the account the first made
(the unique subject refuses its insert) and signs in as it, instead of an error page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select

from app.core.extensions import db
from app.models import User
from app.services import single_sign_on
from app.services.actors import CLI

ISSUER = "https://idp.example"
CLAIMS = {"sub": "carol", "email": "carol@example.com", "email_verified": True, "groups": ["staff"]}


def test_the_account_made_meanwhile_by_the_other_sign_in_is_used(app: Any) -> None:
    single_sign_on.save_mapping(actor=CLI, claim="groups", default_role="refuse", rules=[("staff", "user")])
    made_meanwhile: list[int] = []

    def the_other_sign_in_commits_first(session: Any, *_: Any) -> None:
        # Past this sign-in's lookup, just before its insert: the other one's account lands on its own connection.
        if made_meanwhile:
            return
        with db.engine.begin() as other:
            row = other.execute(
                insert(User)
                .values(email="carol@example.com", name="carol", role="user", password_hash="!", active=True)
                .values(sso_subject=f"{ISSUER} carol")
                .returning(User.id)
            )
            made_meanwhile.append(row.scalar_one())

    event.listen(db.session, "before_flush", the_other_sign_in_commits_first)
    try:
        user = single_sign_on.sign_in(CLAIMS, issuer=ISSUER)
    finally:
        event.remove(db.session, "before_flush", the_other_sign_in_commits_first)
    assert made_meanwhile and user.id == made_meanwhile[0]
    assert db.session.scalars(select(User).where(User.email == "carol@example.com")).all() == [user]
