"""Keys that make a request act once: the API's Idempotency-Key, and the pages' one-time form
keys (app.web.form_keys). The same key and request give the first answer again; another
request with the key is refused; a key whose first request is still running is a conflict."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict, InvalidInput
from app.core.extensions import db
from app.models import IdempotentResponse

IN_PROGRESS = 0  # status code of a claimed key whose first request has not answered yet


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(user_id: int, key: str, digest: str, *, what: str = "Idempotency-Key") -> StoredAnswer | None:
    """Claim `key` for this request; returns the stored answer when the key was used before.

    `what` names the key in refusals (the header, or "form key")."""
    if not key or len(key) > 200:
        raise InvalidInput.field(what, f"{what} must be 1 to 200 characters")
    row = IdempotentResponse(user_id=user_id, key=key, request_hash=digest, status_code=IN_PROGRESS, body="")
    db.session.add(row)
    try:
        db.session.commit()
        return None
    except IntegrityError:
        db.session.rollback()
    existing = db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).one()
    if existing.request_hash != digest:
        raise InvalidInput.field(what, f"this {what} was used with a different request")
    if existing.status_code == IN_PROGRESS:
        raise Conflict(f"a request with this {what} is still being processed")
    return StoredAnswer(existing.status_code, existing.body)


def remember(user_id: int, key: str, status_code: int, body: str) -> None:
    """Store the answer; server errors release the key so the client may retry."""
    row = db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).one_or_none()
    if row is None:
        return
    if status_code >= 500:
        db.session.delete(row)
    else:
        row.status_code, row.body = status_code, body
    db.session.commit()


def release(user_id: int, key: str) -> None:
    """Free `key`: its request did nothing worth replaying (a form sent back with errors)."""
    db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).delete()
    db.session.commit()


def release_after_error(user_id: int, key: str) -> None:
    """The request raised: drop what it left in the session, then free the key for a retry."""
    db.session.rollback()  # nothing the failed request added may be committed with the release
    remember(user_id, key, 500, "")
