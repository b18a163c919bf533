"""Configuration: the only module that reads the environment.

Every setting has the seed's default. A bad value stops start-up with a message that
names the variable, so an operator never runs with a half-understood configuration.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.text import duration_seconds
from app.lifecycle.states import ENDED_INSTANCE

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_DIR = REPO_ROOT / "instance"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A configuration variable holds a value sharboard cannot use."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _float(name: str, raw: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum or value != value:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def _seconds(name: str, raw: str) -> float:
    """A duration: seconds (`90`), or a whole number with s, m, h, d or w (`30m`, `24h`)."""
    value = duration_seconds(raw)
    if value is None or not 1 <= value <= 365 * 86400:
        raise ConfigError(
            f"{name} must be a duration from 1 second to 365 days, such as 3600, 30m, 24h or 2d, not {raw!r}"
        )
    return float(value)


def _level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return value


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, not {raw!r}")
    return value


def _queue(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value):
        raise ConfigError(f"{name} must be a queue name without spaces, not {raw!r}")
    return value


def _deadline(name: str, raw: str) -> float:
    value = _float(name, raw, minimum=0.1)
    if value > 50:  # the delivery job's own time limit is 60 s
        raise ConfigError(f"{name} must be at most 50 seconds, not {raw!r}")
    return value


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _csv(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _plugins(name: str, raw: str) -> tuple[str, ...]:
    """Modules (`package.module`) or functions in them (`package.module:register`)."""
    values = _csv(name, raw)
    dotted = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
    bad = [v for v in values if not re.fullmatch(rf"{dotted}(:{dotted})?", v)]
    if bad:
        raise ConfigError(f"{name} must list modules such as my_plugin or my_plugin.hooks:register, not {bad[0]!r}")
    return values


def _statuses(name: str, raw: str) -> tuple[str, ...]:
    allowed = {str(s) for s in ENDED_INSTANCE}
    values = _csv(name, raw)
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ConfigError(f"{name} must list statuses among {sorted(allowed)}, not {raw!r}")
    return values


def _rate(name: str, raw: str) -> str:
    """A Flask-Limiter rate such as "10 per 15 minutes" (several joined by ";")."""
    from limits import parse_many

    value = raw.strip()
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '10 per 15 minutes', not {raw!r}") from None
    return value


def _optional_bool(name: str, raw: str) -> bool | None:
    return _bool(name, raw) if raw.strip() else None


def _scopes(name: str, raw: str) -> str:
    value = " ".join(raw.split())
    if "openid" not in value.split():
        raise ConfigError(f"{name} must include the scope openid, not {raw!r}")
    return value


def _setting(env: str, parse: Callable[[str, str], Any], default: Any) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Every setting sharboard reads, with the seed's defaults."""

    shar_async_enabled: bool = _setting("SHAR_ASYNC_ENABLED", _bool, True)
    shar_workflow_queue: str = _setting("SHAR_WORKFLOW_QUEUE", _queue, "shar-workflows")
    shar_instance_queue: str = _setting("SHAR_INSTANCE_QUEUE", _queue, "shar-instances")
    shar_sync_queue: str = _setting("SHAR_SYNC_QUEUE", _queue, "shar-sync")
    # Callbacks and e-mails: their own queue, so a slow receiver or SMTP server never delays syncs.
    shar_notify_queue: str = _setting("SHAR_NOTIFY_QUEUE", _queue, "shar-notify")
    shar_sync_interval: int = _setting("SHAR_SYNC_INTERVAL", lambda n, r: _int(n, r, minimum=1), 300)
    # Instances one periodic-sync job reads from SHAR (fewer when there are few: app.services.sync).
    shar_sync_batch_size: int = _setting("SHAR_SYNC_BATCH_SIZE", lambda n, r: _int(n, r, minimum=1), 50)
    # 0: batches go at once and the sync workers set the pace (as fast as SHAR answers them).
    shar_sync_batch_delay: float = _setting("SHAR_SYNC_BATCH_DELAY", _float, 0.0)
    shar_notifications_enabled: bool = _setting("SHAR_NOTIFICATIONS_ENABLED", _bool, True)
    # Empty means "start and use the local engine" (sharlite); see shar_url().
    shar_base_url: str = _setting("SHAR_BASE_URL", lambda n, r: _url(n, r) if r.strip() else "", "")
    shar_timeout: float = _setting("SHAR_TIMEOUT", lambda n, r: _float(n, r, minimum=0.1), 30.0)
    # An outage of SHAR (unreachable, 502/503/504, 429) holds the jobs that need it instead of failing
    # them; past this many seconds a held job fails with that reason (app.jobs.outage).
    outage_max_hold: float = _setting("SHARBOARD_OUTAGE_MAX_HOLD", _seconds, 86400.0)
    # While SHAR is unreachable, how often the scheduler asks it whether it is back (seconds).
    outage_probe_interval: float = _setting(
        "SHARBOARD_OUTAGE_PROBE_INTERVAL", lambda n, r: _float(n, r, minimum=0.2), 5.0
    )
    # When SHAR is back, held jobs are queued again oldest first: this many in the first second,
    # twice as many each second after (a ramp, so the backlog does not knock SHAR over again).
    outage_ramp_start: int = _setting("SHARBOARD_OUTAGE_RAMP_START", lambda n, r: _int(n, r, minimum=1), 10)
    log_level: str = _setting("LOG_LEVEL", _level, "INFO")
    shar_log_level: str = _setting("SHAR_LOG_LEVEL", _level, "INFO")
    database_url: str = _setting("DATABASE_URL", _text, "")
    redis_url: str = _setting("REDIS_URL", _text, "")
    secret_key: str = _setting("SECRET_KEY", _text, "")
    port: int = _setting("PORT", lambda n, r: _int(n, r, minimum=1), 5000)
    # The address `flask shar up` serves on: this machine only, unless asked (0.0.0.0: every interface).
    host: str = _setting("SHARBOARD_HOST", _text, "127.0.0.1")
    instance_dir: str = _setting("SHARBOARD_INSTANCE_DIR", _text, str(DEFAULT_INSTANCE_DIR))
    # prometheus_client's own variable: one directory for every process of the stack on this machine.
    prometheus_dir: str = _setting("PROMETHEUS_MULTIPROC_DIR", _text, "")
    local_shar_port: int = _setting("SHARLITE_PORT", lambda n, r: _int(n, r, minimum=1), 8080)
    max_bpmn_bytes: int = _setting("SHARBOARD_MAX_BPMN_BYTES", lambda n, r: _int(n, r, minimum=1024), 5 * 1024 * 1024)
    # The largest file a diff compares (an upload previewed, or a stored version): a diff's CPU grows
    # with the file, about 0.5 s at 1 MiB and 2.5 s at 5 MiB (docs/performance.md).
    max_diff_bytes: int = _setting("SHARBOARD_MAX_DIFF_BYTES", lambda n, r: _int(n, r, minimum=1024), 1024 * 1024)
    # Multiplies every retry wait and batch delay, and how long an idle worker waits on its queue
    # before it looks for a stop; tests set it small so they run in seconds.
    time_scale: float = _setting("SHARBOARD_TIME_SCALE", _float, 1.0)
    reconcile_interval: float = _setting("SHARBOARD_RECONCILE_INTERVAL", lambda n, r: _float(n, r, minimum=0.2), 30.0)
    job_retention_days: int = _setting("SHARBOARD_JOB_RETENTION_DAYS", lambda n, r: _int(n, r, minimum=1), 30)
    cleanup_days: int = _setting("SHARBOARD_CLEANUP_DAYS", lambda n, r: _int(n, r, minimum=1), 30)
    cleanup_statuses: tuple[str, ...] = _setting("SHARBOARD_CLEANUP_STATUSES", _statuses, ("completed",))
    stuck_minutes: int = _setting("SHARBOARD_STUCK_MINUTES", lambda n, r: _int(n, r, minimum=1), 30)
    poll_interval: float = _setting("SHARBOARD_POLL_INTERVAL", lambda n, r: _float(n, r, minimum=0.5), 2.0)
    base_url: str = _setting("SHARBOARD_BASE_URL", _text, "")
    webhook_secret: str = _setting("SHARBOARD_WEBHOOK_SECRET", _text, "")
    webhook_allowed_hosts: tuple[str, ...] = _setting("SHARBOARD_WEBHOOK_ALLOWED_HOSTS", _csv, ())
    webhook_max_attempts: int = _setting("SHARBOARD_WEBHOOK_MAX_ATTEMPTS", lambda n, r: _int(n, r, minimum=1), 6)
    # One total deadline per delivery attempt: connect, TLS, send and read together.
    webhook_timeout: float = _setting("SHARBOARD_WEBHOOK_TIMEOUT", lambda n, r: _deadline(n, r), 10.0)
    mail_server: str = _setting("MAIL_SERVER", _text, "localhost")
    mail_port: int = _setting("MAIL_PORT", lambda n, r: _int(n, r, minimum=1), 25)
    mail_use_tls: bool = _setting("MAIL_USE_TLS", _bool, False)
    mail_use_ssl: bool = _setting("MAIL_USE_SSL", _bool, False)
    mail_username: str = _setting("MAIL_USERNAME", _text, "")
    mail_password: str = _setting("MAIL_PASSWORD", _text, "")
    mail_default_sender: str = _setting("MAIL_DEFAULT_SENDER", _text, "sharboard@localhost")
    # The first admin that `flask shar up` creates; a password is generated and printed when unset.
    admin_email: str = _setting("SHARBOARD_ADMIN_EMAIL", _text, "admin@localhost")
    admin_password: str = _setting("SHARBOARD_ADMIN_PASSWORD", _text, "")
    # Off unless asked: with no SMTP server configured, `flask shar up` must not spam errors.
    mail_enabled: bool = _setting("MAIL_ENABLED", _bool, False)
    # Sign-in and API rate limits (Flask-Limiter rates; Redis storage when REDIS_URL is set).
    signin_limit_per_email: str = _setting("SHARBOARD_SIGNIN_LIMIT_PER_EMAIL", _rate, "10 per 15 minutes")
    signin_limit_per_address: str = _setting("SHARBOARD_SIGNIN_LIMIT_PER_ADDRESS", _rate, "50 per 15 minutes")
    api_rate_limit: str = _setting("SHARBOARD_API_RATE_LIMIT", _rate, "600 per minute")
    # Diffs (pages, API and CLI together) per person; besides, one at a time each.
    diff_rate_limit: str = _setting("SHARBOARD_DIFF_RATE_LIMIT", _rate, "20 per minute")
    # None: on exactly when SHARBOARD_BASE_URL is https; see cookie_secure().
    session_cookie_secure: bool | None = _setting("SESSION_COOKIE_SECURE", _optional_bool, None)
    json_max_depth: int = _setting("SHARBOARD_JSON_MAX_DEPTH", lambda n, r: _int(n, r, minimum=1), 32)
    json_max_bytes: int = _setting("SHARBOARD_JSON_MAX_BYTES", lambda n, r: _int(n, r, minimum=1024), 1024 * 1024)
    # One instance's variables, as compact JSON: every door, the sync and the local engine hold to it
    # (SHAR itself caps a state message at 1 MB).
    max_variables_bytes: int = _setting(
        "SHARBOARD_MAX_VARIABLES_BYTES", lambda n, r: _int(n, r, minimum=1024), 1024 * 1024
    )

    # Single sign-on (OpenID Connect, app.web.auth.sso): on when a discovery URL and a client id are set.
    oidc_discovery_url: str = _setting("SHARBOARD_OIDC_DISCOVERY_URL", lambda n, r: _url(n, r) if r.strip() else "", "")
    oidc_client_id: str = _setting("SHARBOARD_OIDC_CLIENT_ID", _text, "")
    # Empty: a public client, which proves itself by PKCE alone.
    oidc_client_secret: str = _setting("SHARBOARD_OIDC_CLIENT_SECRET", _text, "")
    oidc_scopes: str = _setting("SHARBOARD_OIDC_SCOPES", _scopes, "openid email profile")
    oidc_provider_name: str = _setting("SHARBOARD_OIDC_PROVIDER_NAME", _text, "single sign-on")
    # Off: no password form and no password sign-in on the pages (API tokens still work); needs SSO.
    local_passwords: bool = _setting("SHARBOARD_LOCAL_PASSWORDS", _bool, True)

    # Plug-ins (docs/integrating.md): modules with a register(registry) besides those installed packages
    # declare as `sharboard.listeners` entry points, which are loaded unless this is false.
    plugins: tuple[str, ...] = _setting("SHARBOARD_PLUGINS", _plugins, ())
    plugin_entry_points: bool = _setting("SHARBOARD_PLUGIN_ENTRY_POINTS", _bool, True)

    def __post_init__(self) -> None:
        if not self.local_passwords and not self.sso_enabled:
            raise ConfigError(
                "SHARBOARD_LOCAL_PASSWORDS=off needs single sign-on "
                "(SHARBOARD_OIDC_DISCOVERY_URL and SHARBOARD_OIDC_CLIENT_ID): nobody could sign in"
            )

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_discovery_url and self.oidc_client_id)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from `environ` (default os.environ); overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            raw = environ.get(f.metadata["env"])
            if raw is not None:
                values[f.name] = f.metadata["parse"](f.metadata["env"], raw)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)

    @property
    def queue_names(self) -> tuple[str, str, str, str]:
        return (self.shar_workflow_queue, self.shar_instance_queue, self.shar_sync_queue, self.shar_notify_queue)

    @property
    def uses_local_shar(self) -> bool:
        return not self.shar_base_url

    def shar_url(self) -> str:
        return self.shar_base_url or f"http://127.0.0.1:{self.local_shar_port}"

    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{Path(self.instance_dir) / 'sharboard.db'}"
        # Heroku-style URLs name the old driver; psycopg 3 is what we ship.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url

    @property
    def redis_namespace(self) -> str:
        """What this deployment's Redis keys start with (beside Huey's queue names): two
        deployments sharing one Redis never mix their rate limits or user memories."""
        return hashlib.sha256(self.sqlalchemy_url().encode()).hexdigest()[:16]

    @property
    def sharlite_db_path(self) -> Path:
        """The local engine's SQLite file (`flask shar up` starts the engine on it)."""
        return Path(self.instance_dir) / "sharlite.db"

    @property
    def huey_db_path(self) -> Path:
        """Huey's SQLite storage, the queues' home when REDIS_URL is unset."""
        return Path(self.instance_dir) / "huey.db"

    @property
    def metrics_dir(self) -> Path:
        """Where every process of the stack writes its Prometheus counts."""
        return Path(self.prometheus_dir) if self.prometheus_dir else Path(self.instance_dir) / "metrics"

    @property
    def request_body_limit(self) -> int:
        """The largest request body: an API upload carries the BPMN as a JSON string, and escaping
        can double the XML's size, beside the other fields."""
        return self.max_bpmn_bytes * 2 + self.json_max_bytes

    def flask_config(self) -> dict[str, Any]:
        """The Flask and extension keys derived from these settings."""
        return {
            "SECRET_KEY": self.secret_key or _dev_secret(Path(self.instance_dir)),
            "SQLALCHEMY_DATABASE_URI": self.sqlalchemy_url(),
            # No pool_pre_ping: app.core.db_pool pings only connections idle for a while.
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "MAX_CONTENT_LENGTH": self.request_body_limit,
            "MAIL_SERVER": self.mail_server,
            "MAIL_PORT": self.mail_port,
            "MAIL_USE_TLS": self.mail_use_tls,
            "MAIL_USE_SSL": self.mail_use_ssl,
            "MAIL_USERNAME": self.mail_username or None,
            "MAIL_PASSWORD": self.mail_password or None,
            "MAIL_DEFAULT_SENDER": self.mail_default_sender,
            "MAIL_SUPPRESS_SEND": not self.mail_enabled,
            "WTF_CSRF_TIME_LIMIT": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": self.cookie_secure(),
            "REMEMBER_COOKIE_SECURE": self.cookie_secure(),
        }

    def cookie_secure(self) -> bool:
        """Session cookies only over HTTPS: as set, else on when the dashboard's own URL is https."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.base_url.strip().lower().startswith("https://")


def _dev_secret(instance_dir: Path) -> str:
    """A per-install secret kept on disk, so sessions survive restarts without SECRET_KEY."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # 0600 from creation: never readable by others, not even between a write and a chmod.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it just now
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def current_settings() -> Settings:
    """The Settings of the app in context."""
    from flask import current_app

    return current_app.config["SHARBOARD_SETTINGS"]
