"""Sessions that can be ended: a per-user session key inside the signed-in session.

Flask-Login stores `User.get_id()` in the (signed) session cookie; ours is "<id>:<key>",
where the key is a random value kept on the user row. Signing out and changing the
password replace the key, so every session made before - including a copied cookie -
stops loading its user at once, on every worker.
"""

from __future__ import annotations

import hmac

from flask_login import current_user, logout_user

from app.core.extensions import db
from app.models.user import User, new_session_key
from app.security import principals


def load_user(stored_id: str) -> User | None:
    """The active user the session names, if its key is still the user's current key."""
    user_id, sep, key = (stored_id or "").partition(":")
    if not sep or not key or not user_id.isdigit():
        return None  # a session from before session keys, or garbage: sign in again
    memory, remembered_as = principals.memory(), principals.session_key(stored_id)
    recalled = memory.recall(remembered_as)
    if recalled.entry is not None:
        return principals.user_from(recalled.entry, db.session)
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not user.session_key:
        return None
    if not hmac.compare_digest(user.session_key.encode(), key.encode()):
        return None
    memory.remember(remembered_as, recalled, user)
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every session of `user` (the caller commits)."""
    user.session_key = new_session_key()


def sign_out() -> None:
    """Sign the current user out here and everywhere their session cookie was copied to."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            end_all_sessions(user)
            db.session.commit()
    logout_user()
