"""Rate limits (Flask-Limiter): sign-in per e-mail and per client address, the API per token.

One Limiter per app (Flask-Limiter keeps its storage and key prefix on the Limiter, so a
module-level one would be shared by every app a process builds). Storage is Redis when
REDIS_URL is set, so every web worker counts together (generous limits in small batches:
app.security.rate_counts); memory otherwise. Keys carry a
prefix derived from the database URL: two deployments sharing one Redis never mix.

Sign-in counts failed attempts only (a 401), and checks before the view runs: once the
limit is reached even the right password is refused with 429 until the window passes.
A 429 carries Retry-After (set here, on 429s only); clients that want JSON (the API) get the
API's error envelope, people get an HTML page saying how long to wait.

A service that limits one costly operation per person (diffs) counts it with `spend`, in the
same storage and under the same prefix, and raises its own refusal.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from app.core import redis_gate
from app.core.config import Settings
from app.security.bearer import bearer
from app.security.rate_counts import storage_uri

SIGNIN_ENDPOINT = "auth.login"
EXTENSION_KEY = "sharboard_limiter"


def init_app(app: Flask, *, auth_bp: Blueprint, api_bp: Blueprint) -> Limiter:
    """Create this app's Limiter and put the limits on the sign-in form and on the API."""
    settings: Settings = app.config["SHARBOARD_SETTINGS"]
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=storage_uri(settings.redis_url),
        storage_options=redis_gate.options(settings.redis_url) if settings.redis_url else {},
        key_prefix=_key_prefix(settings),
        strategy="fixed-window",
        # Flask-Limiter's own headers would put Retry-After on every answer; ours go on 429s only.
        headers_enabled=False,
        swallow_errors=True,  # a storage outage must not take sign-in down...
        in_memory_fallback_enabled=True,  # ...so the limits keep counting in memory meanwhile
    )
    # The limits are this app's settings, parsed once here (a callable was parsed again on every request).

    def failed(response: Any) -> bool:
        return response.status_code == 401

    def not_signin() -> bool:
        return request.endpoint != SIGNIN_ENDPOINT

    limiter.limit(
        settings.signin_limit_per_email,
        key_func=_email_key,
        methods=["POST"],
        deduct_when=failed,
        exempt_when=not_signin,
        scope="signin-email",
        error_message="too many failed sign-ins for this e-mail address",
    )(auth_bp)
    limiter.limit(
        settings.signin_limit_per_address,
        key_func=get_remote_address,
        methods=["POST"],
        deduct_when=failed,
        exempt_when=not_signin,
        scope="signin-address",
        error_message="too many failed sign-ins from your address",
    )(auth_bp)
    limiter.limit(
        settings.api_rate_limit,
        key_func=_token_key,
        scope="api-token",
        error_message=_api_refusal,
    )(api_bp)
    app.extensions[EXTENSION_KEY] = limiter
    return limiter


def current_limiter() -> Limiter:
    return current_app.extensions[EXTENSION_KEY]


def spend(rate: str, scope: str, who: str) -> int:
    """Count one use of `scope` by `who` against `rate` (a Flask-Limiter rate) in this app's limit
    storage; 0 while within it, else the seconds until it allows again. A storage outage allows,
    as the app's own limits do (swallow_errors)."""
    strategy, item = current_limiter().limiter, parse(rate)
    key = (_key_prefix(current_app.config["SHARBOARD_SETTINGS"]), scope, who)
    try:
        if strategy.hit(item, *key):
            return 0
        reset_at = strategy.get_window_stats(item, *key).reset_time
    except Exception:  # the storage's own errors, of any client library
        current_app.logger.warning("rate limit storage unavailable; %s not counted", scope)
        return 0
    return max(1, math.ceil(reset_at - time.time()))


def _key_prefix(settings: Settings) -> str:
    return "sharboard-rl:" + settings.redis_namespace


def _email_key() -> str:
    """The e-mail as typed (normalised), hashed: addresses are not stored in Redis."""
    email = (request.form.get("email") or "").strip().lower()
    return "email:" + hashlib.sha256(email.encode()).hexdigest() if email else ""


def _token_key() -> str:
    """A valid bearer token (its stored hash); requests without one, or with a token no active user
    holds, are counted per client address (a made-up token per request must not mean a fresh limit)."""
    found = bearer()
    if found is not None:
        return "token:" + found.token_hash
    return "address:" + (get_remote_address() or "unknown")


def _api_refusal() -> str:
    if bearer() is not None:
        return "too many requests with this API token; wait for the time in Retry-After"
    return "too many API requests from your address; wait for the time in Retry-After"


def retry_after_seconds() -> int:
    """Seconds until the breached limit of this request resets (at least 1)."""
    try:
        limit = current_limiter().current_limit
    except (KeyError, RuntimeError):
        limit = None
    if limit is None:
        return 1
    return max(1, math.ceil(limit.reset_at - time.time()))
