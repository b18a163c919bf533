"""Flask's signed session cookie, read once per process instead of on every request.

A polled fragment sends the same cookie every few seconds. Flask builds a new signing serializer
(deriving its keys) and verifies and decodes the cookie on each of them, a tenth of an unchanged
poll's CPU. Here a process keeps the serializer while the secret keys stay the same, and what a
verified cookie held, keyed by the whole cookie (payload, timestamp and signature), so the same
cookie gives the same session without verifying it again. Its age is still checked on every
request, as itsdangerous does: a cookie signed longer than PERMANENT_SESSION_LIFETIME ago opens
an empty session, remembered or not. Only sessions of plain values are kept (a flash list
is mutable, and is changed in place on the next request), and nothing changes what Flask writes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_COOKIES = 4096  # a bound on memory: beyond it everything is forgotten and verified again
_PLAIN = (str, int, float, bool, type(None))


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: tuple[Any, ...] | None = None
        self._serializer: URLSafeTimedSerializer | None = None
        self._opened: dict[str, tuple[dict[str, Any], int]] = {}  # cookie -> (its values, signed at)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys == self._keys:
            return self._serializer
        serializer = super().get_signing_serializer(app)
        with self._lock:  # new keys: what was verified with the old ones is verified again
            self._keys, self._serializer, self._opened = keys, serializer, {}
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        opened = self._opened.get(cookie)
        if opened is not None:
            values, signed_at = opened
            age = int(time.time()) - signed_at
            # itsdangerous's rule: too old, or signed in the future, is no session at all.
            return self.session_class(values) if 0 <= age <= max_age else self.session_class()
        try:
            values, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:  # SignatureExpired too
            return self.session_class()
        if isinstance(values, dict) and all(isinstance(value, _PLAIN) for value in values.values()):
            with self._lock:
                if len(self._opened) >= MAX_COOKIES:
                    self._opened = {}
                self._opened[cookie] = (values, int(signed.timestamp()))
        return self.session_class(values)
