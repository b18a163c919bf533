"""Single sign-on through the company's OpenID provider: the protocol, with Authlib's Flask client.

Authorization code with PKCE (S256), state and nonce kept in the signed session by Authlib, the
provider's endpoints and keys from its discovery document. Authlib checks the ID token (signature
against the provider's JWKS, issuer, audience, expiry, nonce, at_hash) before this module reads a
claim; an answer without an ID token is refused, since Authlib checks only one that is there. Who
the claims make a person (and whether they may in) is app.services.single_sign_on.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask_login import login_user
from joserfc.errors import JoseError
from requests import RequestException

from app.core.config import Settings, current_settings
from app.core.errors import NotFound, PermissionDenied
from app.security.redirects import safe_next
from app.services import single_sign_on
from app.web.auth.blueprint import bp
from app.web.auth.pages import login_page

logger = logging.getLogger("sharboard.sso")
EXTENSION_KEY = "sharboard.sso"
PROVIDER = "idp"
ID_TOKEN = "sso_id_token"  # kept in the session for the provider's logout (id_token_hint)
NEXT = "sso_next"
HTTP_TIMEOUT = 10  # seconds, for every call to the provider (discovery, keys, token, userinfo)


def init_app(app: Flask) -> None:
    """Register the provider with this app's own Authlib registry, when single sign-on is configured."""
    settings: Settings = app.config["SHARBOARD_SETTINGS"]
    if not settings.sso_enabled:
        return
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=settings.oidc_discovery_url,
        client_kwargs={
            "scope": settings.oidc_scopes,
            "code_challenge_method": "S256",
            # A public client proves itself by PKCE alone; a confidential one by its secret as well.
            "token_endpoint_auth_method": "client_secret_basic" if settings.oidc_client_secret else "none",
            "timeout": HTTP_TIMEOUT,
        },
    )
    app.extensions[EXTENSION_KEY] = oauth


def _client() -> Any:
    oauth = current_app.extensions.get(EXTENSION_KEY)
    if oauth is None:
        raise NotFound("single sign-on is not configured")
    return oauth.create_client(PROVIDER)


@bp.get("/login/sso")
def sso_start() -> Any:
    client = _client()
    session[NEXT] = safe_next(request.args.get("next"))
    try:
        return client.authorize_redirect(url_for(".sso_callback", _external=True))
    except (RequestException, AuthlibBaseError, ValueError, KeyError) as exc:  # discovery unreachable or unusable
        return _failed("the identity provider could not be reached", exc, 502)


@bp.get("/login/sso/callback")
def sso_callback() -> Any:
    client = _client()
    try:
        token = client.authorize_access_token()
        if not token.get("userinfo"):
            raise AuthlibBaseError(description="the answer carried no ID token")
        userinfo = client.userinfo(token=token) if client.load_server_metadata().get("userinfo_endpoint") else {}
        issuer = client.load_server_metadata()["issuer"]
    except (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError) as exc:
        return _failed("the identity provider's answer was refused", exc, 401)
    try:
        claims = single_sign_on.merged_claims(token["userinfo"], userinfo)
        user = single_sign_on.sign_in(claims, issuer=issuer)
    except PermissionDenied as exc:
        return login_page(error=exc.message, status=403)
    login_user(user)
    session[ID_TOKEN] = token["id_token"]
    return redirect(session.pop(NEXT, None) or url_for("overview.index"))


def provider_logout(id_token: str) -> Any:
    """The page that takes the browser on to the provider's end-session endpoint (RP-initiated logout).

    A page, not a redirect: the logout form's redirect to another origin would be blocked by the
    pages' `form-action 'self'`, and a page's onward navigation is not."""
    client = _client()
    try:
        url = client.create_logout_url(
            post_logout_redirect_uri=url_for(".login", _external=True), id_token_hint=id_token
        )["url"]
    except (RuntimeError, RequestException, AuthlibBaseError, ValueError) as exc:  # no end_session_endpoint
        logger.warning("no sign-out at the identity provider: %s", exc)
        return redirect(url_for(".login"))
    return render_template("auth/provider_logout.html", url=url, provider=current_settings().oidc_provider_name)


def _failed(reason: str, exc: Exception, status: int) -> Any:
    logger.warning("single sign-on failed: %s: %r", reason, exc)
    return login_page(error=f"Single sign-on failed: {reason}. Try again, or ask an administrator.", status=status)
