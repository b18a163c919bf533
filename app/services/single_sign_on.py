"""Single sign-on (OpenID Connect): who the identity provider's claims make a person here.

The door (app/web/auth/sso.py) runs the protocol with Authlib and hands over the claims of an ID
token whose signature, issuer, audience, nonce and age Authlib has checked. Here: a verified e-mail
is required, the admin-set mapping turns a claim's values into a role (or a refusal), the first
sign-in creates the account, a later one keeps its role in step with the mapping, and a
deactivated account stays out. The mapping is edited by admins (audited); changing it ends the
sessions of every account that signs in this way, so each gets the role the new mapping gives at
its next sign-in (the claims are only known then).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.core.config import current_settings
from app.core.errors import InvalidInput, PermissionDenied
from app.core.extensions import db
from app.models import ROLES, SsoPolicy, SsoRoleRule, User
from app.models._base import utcnow
from app.models.sso import REFUSE
from app.models.user import NO_PASSWORD
from app.security import sessions
from app.services.access import require_admin
from app.services.actors import Actor, SystemActor
from app.services.audit import audit
from app.services.users import EMAIL

SSO = SystemActor("sso")  # who the audit log says created or changed an account at sign-in
RANK = {"viewer": 0, "user": 1, "admin": 2}  # a person matching several rows gets the highest role
DEFAULT_CLAIM = "groups"
MAX_RULES = 200
CLAIM_NAME_LIMIT, CLAIM_VALUE_LIMIT = 100, 255


@dataclass(frozen=True)
class SignInOptions:
    password: bool  # the password form is offered (SHARBOARD_LOCAL_PASSWORDS)
    sso_label: str | None  # "Sign in with <this>", when single sign-on is configured


@dataclass(frozen=True)
class RoleMapping:
    claim: str
    default_role: str  # a role, or REFUSE
    rules: tuple[tuple[str, str], ...]  # (claim value, role), in the order shown


@dataclass(frozen=True)
class MappingSaved:
    mapping: RoleMapping
    changed: bool
    sessions_ended: int  # accounts signed out because the mapping changed


def sign_in_options() -> SignInOptions:
    """What the sign-in page offers."""
    settings = current_settings()
    return SignInOptions(settings.local_passwords, settings.oidc_provider_name if settings.sso_enabled else None)


# -- the mapping (pure) ------------------------------------------------------------------


def claim_values(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The values of `claim` (a name, or a dotted path into nested objects): a string or a list of them."""
    value: Any = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def role_for(claims: Mapping[str, Any], mapping: RoleMapping) -> str | None:
    """The role `claims` give under `mapping`: the highest of the rows they match, else the default;
    None when that is a refusal."""
    values = claim_values(claims, mapping.claim)
    matched = [role for value, role in mapping.rules if value in values]
    if matched:
        return max(matched, key=RANK.__getitem__)
    return None if mapping.default_role == REFUSE else mapping.default_role


def role_choices(chosen: str, *, refuse: bool = False) -> list[tuple[str, str, bool]]:
    """A role select's options (value, label, chosen); with `refuse`, the "may not sign in" option first."""
    options = [(REFUSE, "refuse sign-in")] if refuse else []
    options += [(role, role) for role in ROLES]
    return [(value, label, value == chosen) for value, label in options]


# -- the mapping (stored) ----------------------------------------------------------------


def current_mapping() -> RoleMapping:
    policy = db.session.get(SsoPolicy, 1)
    rules = db.session.execute(select(SsoRoleRule.claim_value, SsoRoleRule.role).order_by(SsoRoleRule.id)).all()
    return RoleMapping(
        claim=policy.claim if policy else DEFAULT_CLAIM,
        default_role=policy.default_role if policy else REFUSE,
        rules=tuple((value, role) for value, role in rules),
    )


def mapping_for_admin(*, actor: Actor) -> RoleMapping:
    require_admin(actor)
    return current_mapping()


def save_mapping(*, actor: Actor, claim: str, default_role: str, rules: Iterable[tuple[str, str]]) -> MappingSaved:
    """Replace the mapping (admins); rows with an empty value are dropped. A change is audited and
    signs out every account that signs in through the identity provider."""
    require_admin(actor)
    new = _checked(claim, default_role, rules)
    old = current_mapping()
    if new == old:
        return MappingSaved(new, changed=False, sessions_ended=0)
    policy = db.session.get(SsoPolicy, 1) or SsoPolicy(id=1)
    policy.claim, policy.default_role, policy.updated_at = new.claim, new.default_role, utcnow()
    db.session.add(policy)
    db.session.execute(delete(SsoRoleRule))
    db.session.add_all(SsoRoleRule(claim_value=value, role=role) for value, role in new.rules)
    signed_in = list(db.session.scalars(select(User).where(User.sso_subject.is_not(None))))
    for user in signed_in:
        sessions.end_all_sessions(user)
    audit(actor, "sso.mapping_change", "sso", 1, before=_described(old), after=_described(new))
    db.session.commit()
    return MappingSaved(new, changed=True, sessions_ended=len(signed_in))


def _checked(claim: str, default_role: str, rules: Iterable[tuple[str, str]]) -> RoleMapping:
    claim = (claim or "").strip()
    if not claim or len(claim) > CLAIM_NAME_LIMIT or any(c.isspace() for c in claim):
        raise InvalidInput.field("claim", f"give a claim name without spaces, up to {CLAIM_NAME_LIMIT} characters")
    if default_role != REFUSE and default_role not in ROLES:
        raise InvalidInput.field("default_role", f"the default must be {REFUSE} or one of {', '.join(ROLES)}")
    kept: dict[str, str] = {}
    for value, role in rules:
        value = (value or "").strip()
        if not value:
            continue
        if len(value) > CLAIM_VALUE_LIMIT:
            raise InvalidInput.field("rules", f"a claim value has at most {CLAIM_VALUE_LIMIT} characters")
        if role not in ROLES:
            raise InvalidInput.field("rules", f"the role for {value!r} must be one of {', '.join(ROLES)}")
        if value in kept and kept[value] != role:
            raise InvalidInput.field("rules", f"{value!r} is given two roles")
        kept[value] = role
    if len(kept) > MAX_RULES:
        raise InvalidInput.field("rules", f"at most {MAX_RULES} rows")
    return RoleMapping(claim, default_role, tuple(kept.items()))


def _described(mapping: RoleMapping) -> dict[str, Any]:
    return {"claim": mapping.claim, "default_role": mapping.default_role, "rules": dict(mapping.rules)}


# -- signing in --------------------------------------------------------------------------


def merged_claims(id_token_claims: Mapping[str, Any], userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """The checked ID token's claims, with what only the userinfo endpoint gave (many providers put
    e-mail and groups there alone). Userinfo about another subject is refused (OpenID Connect Core 5.3.2)."""
    if userinfo and userinfo.get("sub") != id_token_claims.get("sub"):
        raise PermissionDenied("The identity provider's answers were about two different accounts.")
    return {**userinfo, **id_token_claims}


def sign_in(claims: Mapping[str, Any], *, issuer: str) -> User:
    """The account the provider's checked claims sign in as: made on the first sign-in, its role kept in
    step with the mapping. Refused (PermissionDenied, the reason said) without a subject or a verified
    e-mail, when the mapping gives no role, and for a deactivated account."""
    subject, email = _identity(claims, issuer)
    role = role_for(claims, current_mapping())
    if role is None:
        raise PermissionDenied("Your account at the identity provider is not given a role in sharboard.")
    user = (
        db.session.scalars(select(User).where(User.sso_subject == subject)).first()
        or db.session.scalars(select(User).where(User.email == email)).first()
    )
    if user is None:
        try:
            return _created(subject, email, role, claims)
        except IntegrityError:
            # The same person's other sign-in, at the same moment, made the account first: use it.
            db.session.rollback()
            user = db.session.scalars(select(User).where(User.sso_subject == subject)).first()
            if user is None:
                raise
    if not user.active:
        raise PermissionDenied("This account is deactivated.")
    if user.sso_subject not in (None, subject):
        # Another provider account signed in with this e-mail before: the address alone does not take it over.
        raise PermissionDenied("This e-mail address belongs to another single sign-on account.")
    if user.sso_subject is None:
        user.sso_subject = subject  # a local account with this verified address: linked from now on
        audit(SSO, "user.sso_linked", "user", user.id, after={"email": user.email})
    if user.role != role:
        audit(SSO, "user.sso_role_changed", "user", user.id, before={"role": user.role}, after={"role": role})
        user.role = role
    db.session.commit()
    return user


def _identity(claims: Mapping[str, Any], issuer: str) -> tuple[str, str]:
    sub, email = claims.get("sub"), claims.get("email")
    if not isinstance(sub, str) or not sub:
        raise PermissionDenied("The identity provider did not say who you are.")
    if not isinstance(email, str) or not EMAIL.match(email.strip()) or claims.get("email_verified") is not True:
        raise PermissionDenied("The identity provider gave no verified e-mail address for your account.")
    return f"{issuer} {sub}", email.strip().lower()


def _created(subject: str, email: str, role: str, claims: Mapping[str, Any]) -> User:
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    user = User(email=email, name=(name or email.split("@")[0])[:255], role=role, sso_subject=subject)
    user.password_hash = NO_PASSWORD
    db.session.add(user)
    db.session.flush()
    audit(SSO, "user.sso_created", "user", user.id, after={"email": email, "role": role})
    db.session.commit()
    return user
