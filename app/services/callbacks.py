"""The callback URL rule shared by every operation that takes one."""

from __future__ import annotations

import logging

from app.core.config import current_settings
from app.core.errors import InvalidInput
from app.webhooks.address_policy import AddressRefused, check_callback_url

logger = logging.getLogger("sharboard.webhooks")


def check_callback(url: object) -> str | None:
    """The callback URL if the operator's address policy allows it; InvalidInput otherwise."""
    if url is None or url == "":
        return None
    if not isinstance(url, str):
        raise InvalidInput.field("callback_url", "callback_url must be a string")
    try:
        check_callback_url(url, current_settings())
    except AddressRefused as exc:
        logger.info("callback URL refused: %s", exc.detail)
        raise InvalidInput.field("callback_url", str(exc)) from None
    return url
