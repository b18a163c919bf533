"""The checks, in the order they run: each names the part of the contract it checks and the checks it
needs; base.py and extensions.py add theirs with @check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.shar.conformance.probe import BASE, Probe

CheckFunction = Callable[[Probe], str]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    part: str  # base | extension
    reference: str  # the document (and anchor) that says what the answer must be
    needs: tuple[str, ...]
    run: CheckFunction

    @property
    def base(self) -> bool:
        return self.part == BASE


CHECKS: list[Check] = []


def check(
    name: str, title: str, part: str, reference: str, needs: tuple[str, ...] = ()
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; it returns what it saw when it passed, or raises Failed / NotOffered."""

    def register(function: CheckFunction) -> CheckFunction:
        if any(c.name == name for c in CHECKS):
            raise ValueError(f"check {name} declared twice")
        unknown = [n for n in needs if not any(c.name == n for c in CHECKS)]
        if unknown:  # a check may only need one that runs before it
            raise ValueError(f"check {name} needs {unknown}, declared after it")
        CHECKS.append(Check(name, title, part, reference, needs, function))
        return function

    return register
