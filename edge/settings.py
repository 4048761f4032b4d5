"""The edge server's settings: one typed object from ``<data dir>/edge.toml`` (table ``[edge]``)
plus ``POS_EDGE_*`` environment overrides (environment wins), passed to
``create_app(settings)``. Read by ``shared.settings.parse_settings``, as the hub's are: an
unknown name or a mistyped value is refused with a ``SettingsError`` naming it.

``pos-edge init`` writes edge.toml (mode 0600) with freshly generated secrets. Without a
file, the built-in secrets are used, and those are refused unless ``demo = true``: a real
outlet never runs with a secret anybody can read in this source file.

Menus, taxes, staff and printers are data in the database, not settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from shared.auth import new_secret
from shared.settings import SettingsError, parse_settings, read_toml

__all__ = [
    "CONFIG_NAME",
    "DB_NAME",
    "ENV_PREFIX",
    "EdgeSettings",
    "SettingsError",
    "load_settings",
    "write_config",
]

CONFIG_NAME = "edge.toml"
DB_NAME = "edge.db"  # the same name edge.provision uses
ENV_PREFIX = "POS_EDGE_"
_INSECURE_SECRET = "insecure-demo-secret-do-not-use-in-an-outlet"
_MIN_SECRET_LEN = 32
# The browser apps: inside the installed package (the wheel carries kiosk-ui/ as
# edge/kiosk-ui), else the checkout's top-level kiosk-ui/ folder.
_PACKAGED_UI = Path(__file__).resolve().parent / "kiosk-ui"
_REPO_UI = Path(__file__).resolve().parents[1] / "kiosk-ui"


class EdgeSettings(msgspec.Struct, kw_only=True):
    data_dir: str = "data/edge"
    demo: bool = False
    # HTTP
    host: str = "127.0.0.1"
    port: int = 8080
    static_dir: str = ""  # "" -> the packaged apps (edge/kiosk-ui), else the checkout's kiosk-ui/
    # Connection limits (edge.connection_guard): open connections per client address, and the
    # time a request may take to arrive whole from its first byte.
    max_connections_per_client: int = 256
    request_read_timeout_seconds: float = 20.0
    # Tokens: staff JWTs are signed with jwt_secret; PIN lookups are HMACs under pin_pepper.
    jwt_secret: str = _INSECURE_SECRET
    pin_pepper: str = _INSECURE_SECRET
    staff_token_minutes: int = 12 * 60  # one shift
    login_max_failures: int = 5  # wrong PINs per device within login_window_seconds -> 429
    login_window_seconds: int = 60
    # mDNS advertisement (_fnbpos._tcp.local.) while serving
    advertise: bool = True
    advertise_interfaces: list[str] = []  # [] -> all interfaces
    # Background work
    sync_enabled: bool = True
    print_worker_enabled: bool = True
    # Live events (the screens' stream) older than this are pruned hourly; a screen offline
    # for longer gets a reset frame and reloads its snapshot.
    live_event_retention_hours: int = 48
    # Idempotency keys of orders and payments are kept this long (a device retries within
    # minutes; a kiosk keeps an unsent checkout's key until it gets through), then pruned.
    idempotency_key_retention_days: int = 30
    # Logs
    log_level: str = "INFO"
    log_requests: bool = True

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def db_path(self) -> Path:
        return self.data_path / DB_NAME

    @property
    def static_path(self) -> Path:
        if self.static_dir:
            return Path(self.static_dir)
        return _PACKAGED_UI if _PACKAGED_UI.is_dir() else _REPO_UI

    def check(self) -> EdgeSettings:
        """Refuse settings an outlet must not run with; return self."""
        if not self.demo:
            for name in ("jwt_secret", "pin_pepper"):
                value = getattr(self, name)
                if value == _INSECURE_SECRET or len(value) < _MIN_SECRET_LEN:
                    raise SettingsError(
                        f"{name} is the built-in default or shorter than {_MIN_SECRET_LEN} "
                        f"characters; run `pos-edge init` (it generates one) or set "
                        f"{ENV_PREFIX}{name.upper()}")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port {self.port} is not a TCP port")
        if not 1 <= self.max_connections_per_client <= 60_000:
            raise SettingsError(f"max_connections_per_client {self.max_connections_per_client} "
                                "is not between 1 and 60000")
        if not 0.5 <= self.request_read_timeout_seconds <= 3600:
            raise SettingsError(f"request_read_timeout_seconds {self.request_read_timeout_seconds} "
                                "is not between 0.5 and 3600")
        return self


def load_settings(data_dir: Path | str | None = None, environ: dict[str, str] | None = None,
                  **overrides: Any) -> EdgeSettings:
    """Settings from ``<data_dir>/edge.toml``, then ``POS_EDGE_*`` variables, then overrides."""
    env = os.environ if environ is None else environ
    data_dir = data_dir or env.get(f"{ENV_PREFIX}DATA_DIR") or EdgeSettings().data_dir
    config = Path(data_dir) / CONFIG_NAME
    return parse_settings(
        EdgeSettings, env_prefix=ENV_PREFIX, environ=env,
        file_values=read_toml(config, "edge") if config.exists() else {}, source=str(config),
        overrides={**overrides, "data_dir": str(data_dir)})


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(data_dir: Path | str, *, demo: bool, **extra: Any) -> Path:
    """Create edge.toml with new secrets (mode 0600); an existing file is kept as it is."""
    path = Path(data_dir) / CONFIG_NAME
    if path.exists():
        return path
    values = {"demo": demo, "jwt_secret": new_secret(nbytes=48), "pin_pepper": new_secret(nbytes=48),
              **extra}
    lines = ["# Written by `pos-edge init`. Holds this box's secrets: keep it private (mode 600).",
             "[edge]"] + [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
