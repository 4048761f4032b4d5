"""The outlet's gateway settings: which gateway, its API address and secret key, how long a
QR lives, the merchant's static QRIS (the offline fallback) and the e-wallets offered.

They live in the ``payment_gateway`` row. Head office sends them down the pull feed (kind
"payments"; ``apply_hub_settings``); until a hub has, ``python -m edge.payments configure``
sets them on the box (``source = 'local'``). The secret key never leaves this module's
callers: ``public`` drops it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import Struct

from edge.payments import static_qris
from edge.payments.midtrans import MidtransProvider
from edge.payments.provider import PaymentProvider
from edge.payments.xendit import XenditProvider

__all__ = ["GatewayConfig", "apply_hub_settings", "build_provider", "load", "public", "save"]

Provider = Literal["none", "midtrans", "xendit"]


class GatewayConfig(Struct, kw_only=True, frozen=True):
    provider: Provider = "none"
    api_base_url: str = ""
    server_key: str = ""
    qr_expiry_seconds: int = 300
    static_qris: str = ""
    ewallet_channels: list[str] = []
    source: Literal["local", "hub"] = "local"


def load(conn: sqlite3.Connection) -> GatewayConfig:
    row = conn.execute("SELECT * FROM payment_gateway WHERE id = 1").fetchone()
    if row is None:
        return GatewayConfig()
    return GatewayConfig(provider=row["provider"], api_base_url=row["api_base_url"],
                         server_key=row["server_key"], qr_expiry_seconds=row["qr_expiry_seconds"],
                         static_qris=row["static_qris"],
                         ewallet_channels=msgspec.json.decode(row["ewallet_channels"]),
                         source=row["source"])


def save(conn: sqlite3.Connection, config: GatewayConfig, now: datetime) -> None:
    """Store the settings (ValueError when they cannot work: a static QRIS that is not one,
    a gateway without an address, an expiry outside 10 s - 24 h)."""
    if config.provider != "none" and not config.api_base_url.startswith(("http://", "https://")):
        raise ValueError("api_base_url must be an http(s) URL")
    if not 10 <= config.qr_expiry_seconds <= 86400:
        raise ValueError("qr_expiry_seconds must be between 10 and 86400")
    if config.static_qris:
        static_qris.parse(config.static_qris)  # QrisError (a ValueError) when malformed
    conn.execute(
        "INSERT INTO payment_gateway (id, provider, api_base_url, server_key, qr_expiry_seconds,"
        " static_qris, ewallet_channels, source, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET provider = excluded.provider,"
        " api_base_url = excluded.api_base_url, server_key = excluded.server_key,"
        " qr_expiry_seconds = excluded.qr_expiry_seconds, static_qris = excluded.static_qris,"
        " ewallet_channels = excluded.ewallet_channels, source = excluded.source,"
        " updated_at = excluded.updated_at",
        (config.provider, config.api_base_url, config.server_key, config.qr_expiry_seconds,
         config.static_qris, msgspec.json.encode(config.ewallet_channels).decode(),
         config.source, now.isoformat()))


def apply_hub_settings(conn: sqlite3.Connection, settings: Any, now: datetime) -> list[str]:
    """Apply head office's payment settings (sync.protocol's PaymentSettings), in the
    caller's transaction: they replace whatever the box had. Never raises over a value the
    box cannot use (a pull must not stall on it): that value is replaced by a safe one and
    the returned list says what was (for the log)."""
    problems: list[str] = []
    provider = settings.provider
    if provider not in ("none", "midtrans", "xendit"):
        problems.append(f"unknown provider {provider[:16]!r}: none")
        provider = "none"
    base_url = settings.api_base_url
    if provider != "none" and not base_url.startswith(("http://", "https://")):
        problems.append("api_base_url is not an http(s) URL: no gateway")
        provider = "none"
    expiry = min(max(int(settings.qr_expiry_seconds), 10), 86400)
    if expiry != settings.qr_expiry_seconds:
        problems.append(f"qr_expiry_seconds {settings.qr_expiry_seconds} -> {expiry}")
    static = settings.static_qris.strip()
    if static:
        try:
            static_qris.parse(static)
        except static_qris.QrisError as exc:
            problems.append(f"static_qris ignored: {exc}")
            static = ""
    save(conn, GatewayConfig(
        provider=provider, api_base_url=base_url, server_key=settings.server_key,
        qr_expiry_seconds=expiry, static_qris=static,
        ewallet_channels=[str(c)[:16] for c in settings.ewallet_channels][:8], source="hub"), now)
    return problems


def public(config: GatewayConfig) -> dict[str, Any]:
    """The settings as a screen may see them: no secret key, only whether there is one."""
    data = msgspec.structs.asdict(config)
    data.pop("server_key")
    data["has_server_key"] = bool(config.server_key)
    return data


def build_provider(config: GatewayConfig, timeout: float = 5.0) -> PaymentProvider | None:
    """The gateway client for these settings, or None when no gateway is configured."""
    if config.provider == "midtrans":
        return MidtransProvider(config.api_base_url, config.server_key, timeout=timeout)
    if config.provider == "xendit":
        return XenditProvider(config.api_base_url, config.server_key, timeout=timeout)
    return None
