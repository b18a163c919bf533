"""Logs are JSON lines, and LOG_LEVEL and SHAR_LOG_LEVEL each govern their loggers."""

import json
import logging

from app.core.logging_setup import SHAR_LOGGER, JsonFormatter, configure_logging


def test_records_are_json_with_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "sharboard.x", "levelname": "INFO", "msg": "job %s", "args": (7,), "job_id": 7}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "job 7" and line["job_id"] == 7 and line["logger"] == "sharboard.x" and line["ts"]


def test_both_levels_are_honoured() -> None:
    configure_logging("WARNING", "DEBUG")
    assert not logging.getLogger("sharboard.web").isEnabledFor(logging.INFO)
    assert logging.getLogger(f"{SHAR_LOGGER}.jobs").isEnabledFor(logging.DEBUG)
    configure_logging("DEBUG", "ERROR")
    assert logging.getLogger("sharboard.web").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger(f"{SHAR_LOGGER}.client").isEnabledFor(logging.WARNING)
    configure_logging("INFO", "INFO")
