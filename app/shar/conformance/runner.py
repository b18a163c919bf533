"""Running the checks against one gateway: in order, each once, a check whose need failed skipped,
then the run's workflows removed."""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass

import httpx

from app.shar.conformance.catalog import CHECKS, Check

# closing imports extensions, which imports base: the checks register in the order they run.
from app.shar.conformance.closing import remove_leftovers
from app.shar.conformance.probe import Failed, NotOffered, Probe, Verdict

logger = logging.getLogger("sharboard.shar.conformance")
PASSED, FAILED, NOT_OFFERED, SKIPPED = "passed", "failed", "not offered", "skipped"
OUTCOMES = (PASSED, FAILED, NOT_OFFERED, SKIPPED)


@dataclass(frozen=True)
class Result:
    """One check's outcome; `request` and `answer` quote the exchange a failed or not offered check saw."""

    name: str
    title: str
    part: str
    reference: str
    outcome: str
    detail: str
    request: str | None = None
    answer: str | None = None


@dataclass(frozen=True)
class Report:
    url: str
    run: str
    results: tuple[Result, ...]
    # Workflows of this run the gateway would not delete (named so an operator can remove them).
    leftovers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No check failed: an extension not offered is fine, a base check or an offered extension failing is not."""
        return not any(r.outcome == FAILED for r in self.results)

    def counts(self) -> dict[str, int]:
        return {o: sum(r.outcome == o for r in self.results) for o in OUTCOMES}

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "run": self.run,
            "ok": self.ok,
            "counts": self.counts(),
            "leftovers": list(self.leftovers),
            "checks": [asdict(r) for r in self.results],
        }


def run_checks(
    url: str, *, timeout: float = 10.0, settle: float | None = None, transport: httpx.BaseTransport | None = None
) -> Report:
    """Check the gateway at `url`; `settle` is how long a check waits for an instance to move on
    (a real SHAR runs asynchronously; by default the timeout, at most 10 s)."""
    run = secrets.token_hex(4)
    headers = {"Accept": "application/json", "User-Agent": "sharboard-conformance"}
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=headers, transport=transport) as http:
        probe = Probe(http, run, settle=min(timeout, 10.0) if settle is None else settle)
        results: dict[str, Result] = {}
        for each in CHECKS:
            results[each.name] = _run_one(each, probe, results)
        leftovers = remove_leftovers(probe)
    return Report(url, run, tuple(results.values()), tuple(leftovers))


def _run_one(each: Check, probe: Probe, earlier: dict[str, Result]) -> Result:
    blocked = [n for n in each.needs if earlier[n].outcome in (FAILED, SKIPPED)]
    if blocked:
        return _result(each, SKIPPED, f"needs {', '.join(blocked)}, which did not pass")
    lacking = [n for n in each.needs if earlier[n].outcome == NOT_OFFERED]
    if lacking:
        return _result(
            each, NOT_OFFERED, f"can only be seen through {', '.join(lacking)}, which this gateway does not offer"
        )
    probe.last = None
    try:
        return _result(each, PASSED, each.run(probe))
    except Verdict as verdict:
        if isinstance(verdict, NotOffered) and each.base:  # the base contract has no optional part
            verdict = Failed(verdict.reason, verdict.exchange)
        return _result(each, verdict.outcome, verdict.reason, verdict.exchange)
    except Exception as exc:  # a check reads a foreign answer: a shape it did not foresee fails it, quoted
        logger.debug("conformance check %s broke", each.name, exc_info=True)
        return _result(each, FAILED, f"unexpected answer ({type(exc).__name__}: {exc})", probe.last)


def _result(each: Check, outcome: str, detail: str, exchange: object = None) -> Result:
    request = getattr(exchange, "request_line", None)
    answer = getattr(exchange, "answer", None)
    return Result(
        each.name,
        each.title,
        each.part,
        each.reference,
        outcome,
        detail,
        request() if request else None,
        answer() if answer else None,
    )
