"""The gateway conformance suite: does a SHAR gateway speak the contract sharboard relies on?

The base contract (../shared/shar-gateway-api.md) and this project's extensions
(docs/gateway-extensions.md), checked over HTTP against any URL with the small BPMN documents in
documents/. Doors: `flask shar gateway check URL` (through app.services.gateway_checks) and
`pytest tests/contract --gateway-url URL`.
"""

from app.shar.conformance.catalog import CHECKS, Check
from app.shar.conformance.runner import FAILED, NOT_OFFERED, OUTCOMES, PASSED, SKIPPED, Report, Result, run_checks

__all__ = [
    "CHECKS",
    "FAILED",
    "NOT_OFFERED",
    "OUTCOMES",
    "PASSED",
    "SKIPPED",
    "Check",
    "Report",
    "Result",
    "run_checks",
]
