"""Errors that steer the job runner.

    JobError
    ├── RetryableJobError   try again after the spec's wait (e.g. a webhook answered 503)
    └── PermanentJobError   give up now; trying again cannot help
"""
from __future__ import annotations


class JobError(Exception):
    """Base of the runner's own errors."""


class RetryableJobError(JobError):
    pass


class PermanentJobError(JobError):
    pass
