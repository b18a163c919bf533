"""Fixtures for the hardening tests: the page-test and API-test helpers, reused."""

from tests.api.conftest import api, token_for  # noqa: F401
from tests.web.conftest import client, post, sign_in  # noqa: F401
