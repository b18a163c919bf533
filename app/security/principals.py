"""A brief memory, per process, of who an API token or a session is.

Every API call and every polled fragment used to load its token or session user from the
database first: the largest single cost of an unchanged (304) read. Here a process keeps
what it loaded, keyed by the token's hash or the session's stored id, and forgets all of
it whenever any user or token changes anywhere:

- a commit that changes a user (role, active, password, session key, deletion) or revokes or
  deletes a token increments a generation counter in Redis, after the commit, and empties this
  process's memory at once;
- each process reads that counter at most every REFRESH_SECONDS and empties its memory when it
  moved. So a revocation or deactivation holds at once where it was made, and on every other
  process within REFRESH_SECONDS.

Without Redis (or while it does not answer) nothing is remembered: every request reads the
database, as before. What is kept is the user's column values, never a live ORM object.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from app.models import ApiToken, User

logger = logging.getLogger("sharboard.security")
EXTENSION_KEY = "sharboard.principals"
REFRESH_SECONDS = 0.5
# A bound on anything the session events cannot see (a change made straight in SQL): nothing is
# remembered for longer than this, announced or not.
MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 10_000  # a bound on memory: beyond it the oldest half is forgotten
_CHANGED = "sharboard.principals_changed"
# The password hash is not kept: a remembered user loads it only if something asks for it.
_COLUMNS = tuple(column.key for column in inspect(User).column_attrs if column.key != "password_hash")
_USER_MAPPER = inspect(User)


@dataclass(frozen=True)
class Recalled:
    entry: dict[str, Any] | None  # what was remembered, or None: read the database
    epoch: int  # the memory's epoch when asked: what is read after it is remembered only if still current


class PrincipalMemory:
    def __init__(self, redis: Any, key: str) -> None:
        self._redis, self._key = redis, key
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._generation: bytes | None = None
        self._checked_at = float("-inf")
        # Moves each time everything is forgotten: a row read before a change must not be
        # remembered after it (the change was committed while the row was being read).
        self._epoch = 0

    def recall(self, key: str) -> Recalled:
        """What was remembered under `key`, while nothing changed since (else its entry is None)."""
        if not self._current():
            return Recalled(None, self._epoch)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry["remembered_at"] > MAX_AGE_SECONDS:
            entry = None
        return Recalled(entry, self._epoch)

    def remember(self, key: str, recalled: Recalled, user: User, **extra: Any) -> None:
        """Keep `user` under `key`, read after `recalled` was asked for, unless something changed since."""
        if self._redis is None:
            return
        entry = {"user": {name: getattr(user, name) for name in _COLUMNS}, "remembered_at": time.monotonic(), **extra}
        with self._lock:
            if recalled.epoch != self._epoch:
                return
            if len(self._entries) >= MAX_ENTRIES:
                for stale in list(self._entries)[: MAX_ENTRIES // 2]:
                    del self._entries[stale]
            self._entries[key] = entry

    def forget_all(self) -> None:
        """Something changed here: forget now, and tell every other process."""
        with self._lock:
            self._forget()
            self._checked_at = float("-inf")
        if self._redis is None:
            return
        try:
            self._redis.incr(self._key)
        except Exception:  # the readers cannot read the counter either: they remember nothing meanwhile
            logger.warning("could not announce a user or token change", exc_info=True)

    def _forget(self) -> None:  # under the lock
        self._entries.clear()
        self._epoch += 1

    def _current(self) -> bool:
        if self._redis is None:
            return False
        now = time.monotonic()
        if now - self._checked_at < REFRESH_SECONDS:
            return self._generation is not None
        try:
            generation = self._redis.get(self._key) or b"0"
        except Exception:
            generation = None
        with self._lock:
            if generation is None or generation != self._generation:
                self._forget()
            self._generation, self._checked_at = generation, now
        return generation is not None


def init_app(app: Flask, redis: Any, key_prefix: str) -> None:
    app.extensions[EXTENSION_KEY] = PrincipalMemory(redis, f"{key_prefix}:principals")


def memory() -> PrincipalMemory:
    return current_app.extensions[EXTENSION_KEY]


def token_key(token_hash: str) -> str:
    return "token:" + token_hash


def session_key(stored_id: str) -> str:
    return "session:" + hashlib.sha256(stored_id.encode()).hexdigest()


def user_from(entry: dict[str, Any], session: Session) -> User:
    """The remembered user, as a row of `session`, without loading it: its relationships still load on use."""
    known = session.identity_map.get(_USER_MAPPER.identity_key_from_primary_key((entry["user"]["id"],)))
    if known is not None:
        return known  # type: ignore[return-value]
    # Not through User(**columns): the constructor records each value as a change, which
    # make_transient_to_detached then discards; the values go straight into the row's state.
    user = _USER_MAPPER.class_manager.new_instance()
    instance_state(user).dict.update(entry["user"])
    make_transient_to_detached(user)
    session.add(user)
    return user


# -- noticing changes, in every session ------------------------------------------------------


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, User) or (isinstance(row, ApiToken) and _token_changed(row)):
            session.info[_CHANGED] = True
            return


def _orm_execute(state: Any) -> None:
    """An UPDATE or DELETE of users or tokens run through the session (`session.execute(update(User))`)."""
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ in (User, ApiToken)
    ):
        state.session.info[_CHANGED] = True


def _token_changed(token: ApiToken) -> bool:
    """Revoked or deleted: its `last_used_at` stamp (once a minute) changes nothing of who it is."""
    state = inspect(token)
    return state.session is not None and token in state.session.deleted or state.attrs.revoked_at.history.has_changes()


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context() and EXTENSION_KEY in current_app.extensions:
        memory().forget_all()


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def connect() -> None:
    """Listen to every session once per process (idempotent, like the event listeners)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _orm_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(session))
