"""Single sign-on's pure rules: a claim's values (names and dotted paths), the role a mapping gives
(the highest matched, else the default or a refusal), and merging userinfo under the ID token."""

from __future__ import annotations

import pytest

from app.core.config import ConfigError, Settings
from app.core.errors import PermissionDenied
from app.services.single_sign_on import RoleMapping, claim_values, merged_claims, role_for

MAPPING = RoleMapping("groups", "refuse", (("ops-admins", "admin"), ("staff", "user"), ("auditors", "viewer")))


@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"groups": ["staff"]}, "user"),
        ({"groups": ["auditors", "ops-admins", "staff"]}, "admin"),  # the highest of those matched
        ({"groups": ["auditors", "staff"]}, "user"),
        ({"groups": "auditors"}, "viewer"),  # a single string
        ({"groups": ["contractors"]}, None),  # no row, default refuse
        ({"groups": [{"name": "staff"}, 3]}, None),  # only strings count
        ({}, None),
        ({"groups": ["Staff"]}, None),  # values are compared exactly
    ],
)
def test_role_for(claims, role) -> None:  # type: ignore[no-untyped-def]
    assert role_for(claims, MAPPING) == role


def test_a_default_role_admits_whoever_matches_nothing() -> None:
    assert role_for({"groups": ["contractors"]}, RoleMapping("groups", "viewer", MAPPING.rules)) == "viewer"


def test_a_dotted_claim_reads_nested_objects() -> None:
    claims = {"realm_access": {"roles": ["ops-admins"]}, "roles": ["staff"]}
    assert claim_values(claims, "realm_access.roles") == {"ops-admins"}
    assert role_for(claims, RoleMapping("realm_access.roles", "refuse", MAPPING.rules)) == "admin"
    assert claim_values({"realm_access": ["x"]}, "realm_access.roles") == frozenset()


def test_userinfo_fills_in_under_the_id_token_and_must_be_about_the_same_subject() -> None:
    merged = merged_claims({"sub": "a", "email": "a@x"}, {"sub": "a", "email": "other@x", "groups": ["g"]})
    assert merged == {"sub": "a", "email": "a@x", "groups": ["g"]}
    assert merged_claims({"sub": "a"}, {}) == {"sub": "a"}
    with pytest.raises(PermissionDenied):
        merged_claims({"sub": "a"}, {"sub": "b", "groups": ["ops-admins"]})


def test_settings_for_single_sign_on() -> None:
    env = {"SHARBOARD_OIDC_DISCOVERY_URL": "https://id.example.com/.well-known/openid-configuration"}
    assert not Settings.from_env(env).sso_enabled
    on = Settings.from_env({**env, "SHARBOARD_OIDC_CLIENT_ID": "dash", "SHARBOARD_LOCAL_PASSWORDS": "off"})
    assert on.sso_enabled and not on.local_passwords and on.oidc_scopes == "openid email profile"
    with pytest.raises(ConfigError, match="SHARBOARD_LOCAL_PASSWORDS"):
        Settings.from_env({"SHARBOARD_LOCAL_PASSWORDS": "off"})
    with pytest.raises(ConfigError, match="openid"):
        Settings.from_env({"SHARBOARD_OIDC_SCOPES": "email groups"})
