"""The hub's settings: one typed object, built from an optional TOML file plus ``POS_HUB_*``
environment variables (environment wins), then passed to ``create_app(settings)``.

Every field is listed below with its default. ``pos-hub serve`` works on a fresh machine with
none of them set: the database is a SQLite file in ``data_dir`` and the JWT signing key is
generated once and kept (mode 0600) in ``data_dir/jwt-secret``. Replicas on several machines
must share one database URL and one ``POS_HUB_JWT_SECRET``.

The JWT key signs every owner's token, so a weak one is refused (``secret_problem``): a known
placeholder such as ``hub.env.example``'s, fewer than 32 characters, or too little variety
to be random. Only ``demo = true`` (a laptop demo, never a served chain) accepts it.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from shared.auth import new_secret
from shared.settings import SettingsError, parse_settings, read_toml

__all__ = ["HubSettings", "SettingsError", "default_data_dir", "load_settings", "resolved_pin_key",
           "secret_problem", "sqlite_url_for"]

ENV_PREFIX = "POS_HUB_"
_MIN_SECRET_LEN = 32
# Estimated from the characters' frequencies (Shannon entropy x length): a random 32-character
# base64 or hex secret scores 95-150 bits, "x" * 40 scores 0.
_MIN_SECRET_BITS = 90.0
# Lower-case fragments of the placeholders people copy from examples and tutorials.
_PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder",
                 "example", "your-secret", "yoursecret", "insecure", "default-secret")


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` must not sign tokens, or None when it looks random and long enough."""
    lowered = secret.lower()
    for fragment in _PLACEHOLDERS:
        if fragment in lowered:
            return f"it is a placeholder (contains {fragment!r})"
    if len(secret) < _MIN_SECRET_LEN:
        return f"it is shorter than {_MIN_SECRET_LEN} characters"
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    if bits < _MIN_SECRET_BITS:
        return "it is not random enough (too few different characters)"
    return None


class HubSettings(msgspec.Struct, kw_only=True):
    # A laptop demo (``pos demo``): a weak JWT secret is accepted with a warning. Never on a
    # hub that serves a chain.
    demo: bool = False
    # Storage
    db_url: str = ""  # "" -> SQLite file in data_dir; postgresql://... for production
    data_dir: str = ""  # "" -> ./data/hub
    # PostgreSQL (docs/operations.md, "Database"): db_url logs in as the application role (no
    # BYPASSRLS, not the tables' owner); db_system_url as the system role (BYPASSRLS) for the
    # lookups across tenants (login, sync credentials, jobs); db_migrate_url as the owner, for
    # migrations only. "" = db_url (SQLite, or one development superuser).
    db_system_url: str = ""
    db_migrate_url: str = ""
    db_pool_size: int = 10
    # A PostgreSQL streaming replica for reports and listings, logging in as the app role
    # (docs/scaling.md, "Read replicas"); "" = every read on db_url. A caller who wrote reads
    # from db_url for read_your_writes_seconds after the write (per process).
    db_read_url: str = ""
    # PgBouncer in transaction mode between the hub and PostgreSQL (docs/scaling.md): no
    # prepared statement outlives its transaction
    db_pgbouncer: bool = False
    read_your_writes_seconds: float = 5.0
    # Group commit (hub/ingest/push_fast.py): plain pushes of one tenant arriving while its
    # previous group is in its transaction share the next one, up to this many (1 = each
    # push its own transaction)
    push_group_max: int = 64
    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    # Idle keep-alive connections are closed after this (uvicorn's own default is 5 s, less
    # than a dashboard's or a box's pause between requests: each would reconnect)
    keep_alive_seconds: int = 75
    # Load balancers whose X-Forwarded-For is trusted for the client IP (comma-separated IPs,
    # or "*"); "" = none. Login rate limiting per IP needs this behind a load balancer.
    forwarded_allow_ips: str = ""
    # Load shedding per process (hub/overload.py; docs/scaling.md, "Overload"): requests
    # handled at once (0 = no limit), then at most max_queued wait up to queue_timeout_seconds
    # for a slot; past that 503 overloaded + Retry-After. Health and metrics are exempt.
    max_in_flight: int = 128
    max_queued: int = 512
    queue_timeout_seconds: float = 2.0
    # Tokens
    jwt_secret: str = ""  # "" -> generated and kept in data_dir/jwt-secret
    jwt_issuer: str = "pos-hub"
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600
    # Seals staff PINs at the hub (hub.staff_pins; docs/security.md). "" -> generated and kept
    # in data_dir/pin-key. Replicas must share one; losing it means new PINs for every staff.
    pin_key: str = ""
    # Login rate limiting (hub/identity.py): attempts are counted per (client IP, account)
    # pair and per client IP. Past its limit a key waits backoff_base, then twice as long
    # after each further failure, up to backoff_max; a key quiet for login_window_seconds
    # after its wait starts again from zero. A successful login clears its pair.
    login_window_seconds: int = 900
    login_max_failures_per_account: int = 5  # per account from one client IP
    login_max_failures_per_ip: int = 30
    login_backoff_base_seconds: int = 30
    login_backoff_max_seconds: int = 900
    # Fleet: an outlet is online when it made contact within this many seconds
    fleet_offline_after_seconds: int = 180
    # Enrollment codes redeemed per client IP (hub/ratelimit.py, in each process): a burst
    # of redeem_max_per_ip, refilled over redeem_window_seconds; past it 429 + Retry-After
    redeem_max_per_ip: int = 10
    redeem_window_seconds: int = 60
    # Gateway webhooks per client IP (same limiter; docs/api.md, Payment gateways)
    webhook_max_per_ip: int = 600
    webhook_window_seconds: int = 60
    # Scheduled jobs
    scheduler_enabled: bool = True
    token_cleanup_interval_seconds: int = 3600
    report_rollup_interval_seconds: int = 300
    # Applied sync journal entries are deleted after this many days (0 = kept forever); see
    # hub/journal_retention.py
    journal_retention_days: int = 90
    journal_prune_interval_seconds: int = 6 * 3600
    # Monthly partitions of the fact tables on PostgreSQL (hub/partitions.py): months kept
    # ready ahead of the current one, and the retention in months before the current one
    # (older partitions are dropped; 0 = keep everything)
    partition_months_ahead: int = 3
    partition_retention_months: int = 0
    partition_maintenance_interval_seconds: int = 6 * 3600
    # Logging
    log_level: str = "INFO"
    log_requests: bool = False

    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    def resolved_db_url(self) -> str:
        return self.db_url or sqlite_url_for(self.resolved_data_dir() / "hub.db")

    def resolved_migrate_url(self) -> str:
        return self.db_migrate_url or self.resolved_db_url()

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or the one kept in the data folder (created on first use).
        A weak secret raises ValueError unless ``demo`` (see ``secret_problem``)."""
        if self.jwt_secret:
            return self._checked_secret(self.jwt_secret, "POS_HUB_JWT_SECRET")
        path = self.resolved_data_dir() / "jwt-secret"
        if path.exists():
            return self._checked_secret(path.read_text().strip(), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = new_secret(nbytes=48)
        # O_EXCL: two processes starting at once must end up with the same secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return secret


    def _checked_secret(self, secret: str, source: str) -> str:
        problem = secret_problem(secret)
        if problem is None or self.demo:
            return secret
        raise ValueError(
            f"{source} cannot sign tokens: {problem}. Anyone who knows it can forge an owner's "
            "token. Generate one (python3 -c 'import secrets; print(secrets.token_urlsafe(48))') "
            "and put it in POS_HUB_JWT_SECRET on every replica, or unset it to keep a generated "
            "key in data_dir/jwt-secret")


def resolved_pin_key(settings: HubSettings) -> str:
    """The hub's PIN key: ``pin_key``, or the one kept in data_dir/pin-key (made on first use)."""
    if settings.pin_key:
        problem = secret_problem(settings.pin_key)
        if problem is not None and not (settings.demo and len(settings.pin_key) >= _MIN_SECRET_LEN):
            raise ValueError(f"POS_HUB_PIN_KEY cannot seal PINs: {problem}")
        return settings.pin_key
    path = settings.resolved_data_dir() / "pin-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once must end up with the same key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the other process may not have written it yet
            if key := path.read_text().strip():
                return key
            time.sleep(0.02)
        raise ValueError(f"{path} is empty: delete it or set POS_HUB_PIN_KEY") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(new_secret(nbytes=48))
    return path.read_text().strip()


def default_data_dir() -> Path:
    return Path.cwd() / "data" / "hub"


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None,
                  **overrides: Any) -> HubSettings:
    """TOML file (if any) < POS_HUB_* environment < explicit overrides (e.g. CLI flags),
    read by ``shared.settings.parse_settings``; a problem is a SettingsError (a ValueError)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    return parse_settings(HubSettings, env_prefix=ENV_PREFIX, environ=env,
                          file_values=read_toml(config_file) if config_file else {},
                          source=str(config_file), overrides=overrides)
