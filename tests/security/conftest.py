"""Fixtures for the hardening tests: the page-test helpers, reused."""
from tests.web.conftest import client, post, sign_in  # noqa: F401
