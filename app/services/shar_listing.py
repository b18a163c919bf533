"""SHAR's instance list, fetched once for the launch re-sends of this process that it can answer.

The contract has no lookup by variable, so a re-sent launch lists every instance to find one its
earlier request made (with 9,600 instances in SHAR: 3.4 MB and 0.3-0.6 s a call, and a retry storm of
12,500 launches after an outage ran at ~3.6/s against ~60/s for first launches). A list answers for a
re-send when it was asked for after the re-send's earlier try ended: anything that try made is in it.
So after an outage, one list serves every launch held or failed during it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.models._base import utcnow
from app.shar.client import SharClient, SharInstance


@dataclass
class _Listing:
    asked_at: datetime  # when the list call began: what SHAR held then is in it
    by_value: dict[Any, list[SharInstance]] = field(default_factory=dict)


_lock = threading.Lock()  # one list call at a time in a process: the others wait for it, then share it
_latest: dict[tuple[str, str], _Listing] = {}  # by SHAR and variable name


def instances_carrying(
    client: SharClient, name: str, value: str, *, tried_until: datetime | None
) -> list[SharInstance]:
    """The instances whose variable `name` is `value`, from a list asked for after `tried_until` (the
    end of the earlier try whose instance is looked for; None: a list asked for now)."""
    key = (client.base_url, name)
    with _lock:
        listing = _latest.get(key)
        if tried_until is None or listing is None or listing.asked_at < tried_until:
            listing = _Listing(utcnow())
            for instance in client.list_instances():
                carried = instance.variables.get(name)
                if isinstance(carried, str):
                    listing.by_value.setdefault(carried, []).append(instance)
            _latest[key] = listing
        return list(listing.by_value.get(value, ()))


def forget() -> None:
    """Drop the lists kept (tests; a process that will not re-send for a while need not hold one)."""
    with _lock:
        _latest.clear()
