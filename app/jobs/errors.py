"""Errors that steer the job runner, and the shape of an error for grouping failures.

JobError
├── RetryableJobError   try again after the spec's wait (e.g. a webhook answered 503)
└── PermanentJobError   give up now; trying again cannot help
"""

from __future__ import annotations

import re

# What varies between alike failures: UUIDs, hex ids, element ids with numbers (Task_17),
# numbers, quoted names. Blurred once, when a job fails, and stored for grouping in SQL.
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b[0-9a-f]{12,}\b|\b\w*\d\w*\b|'[^']*'|\"[^\"]*\"", re.I)
SHAPE_CHARS = 300


class JobError(Exception):
    """Base of the runner's own errors."""


class RetryableJobError(JobError):
    pass


class PermanentJobError(JobError):
    pass


def error_shape(message: str | None) -> str:
    """The error with ids, numbers and quoted names blurred, so alike failures group together."""
    return _VOLATILE.sub("…", message or "")[:SHAPE_CHARS]
