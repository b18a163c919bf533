"""Settings: the seed's defaults, and a clear error naming a bad variable."""

import pytest

from app.core.config import ConfigError, Settings


def test_defaults_are_the_seeds() -> None:
    s = Settings.from_env({})
    assert s.shar_async_enabled is True
    # The seed's three queues, and a fourth for callbacks and e-mails.
    assert s.queue_names == ("shar-workflows", "shar-instances", "shar-sync", "shar-notify")
    assert s.webhook_timeout == 10.0 and s.webhook_max_attempts == 6
    assert s.shar_sync_interval == 300
    assert s.shar_notifications_enabled is True
    assert s.shar_timeout == 30.0
    assert s.log_level == "INFO" and s.shar_log_level == "INFO"
    assert s.port == 5000
    assert s.uses_local_shar and s.shar_url() == "http://127.0.0.1:8080"


def test_environment_values_are_read() -> None:
    s = Settings.from_env(
        {
            "SHAR_ASYNC_ENABLED": "false",
            "SHAR_SYNC_QUEUE": "sync2",
            "SHAR_SYNC_INTERVAL": "60",
            "SHAR_BASE_URL": "http://shar.internal:8080/",
            "LOG_LEVEL": "debug",
            "DATABASE_URL": "postgres://u@h/db",
            "SHARBOARD_CLEANUP_STATUSES": "completed,failed",
        }
    )
    assert s.shar_async_enabled is False
    assert s.shar_sync_queue == "sync2"
    assert s.shar_sync_interval == 60
    assert s.shar_url() == "http://shar.internal:8080"
    assert s.log_level == "DEBUG"
    assert s.sqlalchemy_url() == "postgresql+psycopg://u@h/db"
    assert s.cleanup_statuses == ("completed", "failed")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SHAR_ASYNC_ENABLED", "maybe"),
        ("SHAR_SYNC_INTERVAL", "5m"),
        ("SHAR_SYNC_INTERVAL", "0"),
        ("SHAR_TIMEOUT", "soon"),
        ("SHAR_BASE_URL", "shar:8080"),
        ("LOG_LEVEL", "loud"),
        ("SHAR_LOG_LEVEL", "verbose"),
        ("SHAR_WORKFLOW_QUEUE", "two words"),
        ("PORT", "http"),
        ("SHARBOARD_CLEANUP_STATUSES", "running"),
    ],
)
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})


def test_a_bad_value_stops_start_up_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.support.stack import REPO

    env = {**os.environ, "SHAR_SYNC_INTERVAL": "soon", "SHARBOARD_INSTANCE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "shar", "health"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "sharboard: configuration error: SHAR_SYNC_INTERVAL must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("SHARBOARD_WEBHOOK_TIMEOUT", "0", "at least 0.1"),
        ("SHARBOARD_WEBHOOK_TIMEOUT", "120", "at most 50"),
        ("SHAR_NOTIFY_QUEUE", "has space", "without spaces"),
    ],
)
def test_webhook_and_notify_settings_are_checked(env: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env({env: value})
    assert env in str(info.value)


def test_notify_queue_and_webhook_deadline_are_read() -> None:
    s = Settings.from_env({"SHAR_NOTIFY_QUEUE": "hooks", "SHARBOARD_WEBHOOK_TIMEOUT": "2.5"})
    assert s.queue_names[-1] == "hooks" and s.webhook_timeout == 2.5


def test_webhook_attempts_are_read_from_their_variable() -> None:
    from app.core.config import Settings

    assert Settings.from_env({"SHARBOARD_WEBHOOK_MAX_ATTEMPTS": "2"}).webhook_max_attempts == 2


def test_flask_shar_up_serves_this_machine_only_unless_asked() -> None:
    from app.cli.stack import web_command

    def bind(**environ: str) -> str:
        command = web_command(Settings.from_env(environ))
        return command[command.index("--bind") + 1]

    assert bind() == "127.0.0.1:5000"
    assert bind(SHARBOARD_HOST="0.0.0.0", PORT="8000") == "0.0.0.0:8000"
    assert bind(SHARBOARD_HOST="::1") == "[::1]:5000"


def test_the_longest_hold_of_an_outage_reads_as_a_duration() -> None:
    from app.core.config import ConfigError, Settings

    assert Settings.from_env({}).outage_max_hold == 86400.0  # 24 h by default
    assert Settings.from_env({"SHARBOARD_OUTAGE_MAX_HOLD": "30m"}).outage_max_hold == 1800.0
    assert Settings.from_env({"SHARBOARD_OUTAGE_MAX_HOLD": "900"}).outage_max_hold == 900.0
    for bad in ("0", "soon", "400d", "1.5h"):
        with pytest.raises(ConfigError, match="SHARBOARD_OUTAGE_MAX_HOLD must be a duration"):
            Settings.from_env({"SHARBOARD_OUTAGE_MAX_HOLD": bad})
