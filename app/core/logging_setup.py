"""Structured logging: one JSON object per line, with LOG_LEVEL and SHAR_LOG_LEVEL honoured."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Loggers below this name carry SHAR traffic and job work; SHAR_LOG_LEVEL governs them.
SHAR_LOGGER = "sharboard.shar"
_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line; `extra=` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, shar_level: str) -> None:
    """Send JSON lines to stderr; idempotent, so tests can build many apps."""
    root = logging.getLogger()
    if not any(getattr(h, "_sharboard", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._sharboard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("sharboard").setLevel(level)
    logging.getLogger(SHAR_LOGGER).setLevel(shar_level)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(shar_level)))
