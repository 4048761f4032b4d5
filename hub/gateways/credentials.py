"""Gateway credentials at the hub: per outlet or per brand, secrets sealed, never returned.

* A credential names a provider (``midtrans``, ``xendit`` or ``none``), the gateway's API
  base URL, and what the outlet's box needs: the QR lifetime, the merchant's static QRIS
  payload (the offline fallback) and the e-wallet channels offered.
* Secrets: the Midtrans server key (``server_key``), the Xendit secret key (``secret_key``)
  and the Xendit callback token (``callback_token``). They are sealed (``CredentialVault``)
  the moment they arrive, never returned (answers say ``set`` and the last 4 characters),
  never logged, and the audit entry says only whether each was changed. A ``PUT`` that leaves
  a secret out keeps the one stored for the same provider; changing the provider needs the new
  provider's secrets.
* An outlet uses its own credential when it has one (``provider: none`` switches gateways off
  for it), else its brand's (``effective_credential``).
* Who: ``payments:configure`` (owner, hq_admin); an outlet outside a scoped user's outlets is
  403 as everywhere.

The box receives its credential's secret key in its own feed only (``hub.gateways.feed``):
it calls the gateway itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from msgspec import Meta, Struct
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.gateways.models import GatewayCredential
from hub.gateways.vault import CredentialVault
from hub.identity import Principal, require
from hub.models import Outlet, utcnow
from hub.tenancy import get_brand, get_outlet
from shared.errors import ValidationFailed
from shared.ids import new_id

__all__ = [
    "DEFAULT_API_BASE",
    "EWALLET_CHANNELS",
    "CredentialOut",
    "CredentialSet",
    "OutletCredentialsOut",
    "SecretOut",
    "effective_credential",
    "get_brand_credential",
    "get_outlet_credentials",
    "put_brand_credential",
    "put_outlet_credential",
    "secret_of",
    "to_out",
]

Provider = Literal["none", "midtrans", "xendit"]
EWALLET_CHANNELS = ("gopay", "ovo", "dana", "shopeepay")
DEFAULT_API_BASE = {"midtrans": "https://api.midtrans.com", "xendit": "https://api.xendit.co",
                    "none": ""}
# Visible ASCII, no spaces: a key pasted with a trailing newline is a 400, not a silent failure.
Secret = Annotated[str, Meta(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]
# Printable ASCII (an EMVCo QRIS payload is at most 512 characters).
StaticQris = Annotated[str, Meta(max_length=512, pattern=r"^[\x20-\x7e]*$")]
Channel = Literal["gopay", "ovo", "dana", "shopeepay"]


class CredentialSet(Struct, kw_only=True, forbid_unknown_fields=True):
    """``PUT .../payment-gateway``: the whole credential; secrets left out are kept."""

    provider: Provider
    api_base_url: Annotated[str, Meta(max_length=200)] = ""  # "" = the provider's production API
    server_key: Secret | None = None  # Midtrans
    secret_key: Secret | None = None  # Xendit
    callback_token: Secret | None = None  # Xendit
    qr_expiry_seconds: Annotated[int, Meta(ge=60, le=3600)] = 300
    static_qris: StaticQris = ""
    ewallet_channels: Annotated[list[Channel], Meta(max_length=4)] = []


class SecretOut(Struct, kw_only=True):
    set: bool
    last4: str = ""


class CredentialOut(Struct, kw_only=True):
    id: str
    scope: str  # outlet | brand
    outlet_id: str | None
    brand_id: str | None
    provider: str
    api_base_url: str
    server_key: SecretOut
    secret_key: SecretOut
    callback_token: SecretOut
    qr_expiry_seconds: int
    static_qris: str
    ewallet_channels: list[str]
    updated_at: Any


class OutletCredentialsOut(Struct, kw_only=True):
    outlet_id: str
    effective: str  # outlet | brand | none
    credential: CredentialOut | None
    brand_credential: CredentialOut | None


_NO_SECRET = SecretOut(set=False)


def to_out(row: GatewayCredential) -> CredentialOut:
    """The credential as the API shows it: no secret, only whether it is set and its end."""
    secret = SecretOut(set=bool(row.secret_sealed), last4=row.secret_last4)
    token = SecretOut(set=bool(row.callback_token_sealed), last4=row.callback_token_last4)
    return CredentialOut(
        id=row.id, scope="outlet" if row.outlet_id else "brand", outlet_id=row.outlet_id,
        brand_id=row.brand_id, provider=row.provider, api_base_url=row.api_base_url,
        server_key=secret if row.provider == "midtrans" else _NO_SECRET,
        secret_key=secret if row.provider == "xendit" else _NO_SECRET,
        callback_token=token if row.provider == "xendit" else _NO_SECRET,
        qr_expiry_seconds=row.qr_expiry_seconds, static_qris=row.static_qris,
        ewallet_channels=list(row.ewallet_channels or []), updated_at=row.updated_at)


def _checked_url(raw: str, provider: str) -> str:
    """An http(s) base URL; plain http only to this machine (the local fakes of the demo)."""
    url = raw.strip().rstrip("/") or DEFAULT_API_BASE[provider]
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment \
            or parts.username or parts.password or any(c.isspace() for c in url):
        raise ValidationFailed("api_base_url must be an https:// URL without query or user",
                               details={"field": "api_base_url"})
    if parts.scheme == "http" and not _loopback(host):
        raise ValidationFailed("api_base_url must use https (plain http only to localhost)",
                               details={"field": "api_base_url"})
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _audit_view(row: GatewayCredential | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"provider": row.provider, "api_base_url": row.api_base_url,
            "secret": "set" if row.secret_sealed else "none",
            "callback_token": "set" if row.callback_token_sealed else "none",
            "qr_expiry_seconds": row.qr_expiry_seconds,
            "static_qris": "set" if row.static_qris else "none",
            "ewallet_channels": list(row.ewallet_channels or [])}


@dataclass
class _Scope:
    outlet_id: str | None
    brand_id: str | None

    @property
    def entity(self) -> tuple[str, str]:
        return ("outlet", self.outlet_id) if self.outlet_id else ("brand", self.brand_id or "")


async def _put(session: AsyncSession, vault: CredentialVault, principal: Principal, scope: _Scope,
               data: CredentialSet) -> GatewayCredential:
    stmt = select(GatewayCredential).where(
        GatewayCredential.outlet_id == scope.outlet_id if scope.outlet_id
        else GatewayCredential.brand_id == scope.brand_id)
    row = await session.scalar(stmt)
    before = _audit_view(row)
    if row is None:
        row = GatewayCredential(id=new_id(), tenant_id=principal.tenant_id,
                                outlet_id=scope.outlet_id, brand_id=scope.brand_id,
                                provider=data.provider, secret_sealed="", secret_last4="",
                                callback_token_sealed="", callback_token_last4="",
                                callback_token_lookup="")
        session.add(row)
    elif row.provider != data.provider:
        # another provider's secrets never carry over
        row.secret_sealed = row.secret_last4 = ""
        row.callback_token_sealed = row.callback_token_last4 = row.callback_token_lookup = ""
    wrong = {"midtrans": ("secret_key", "callback_token"), "xendit": ("server_key",),
             "none": ("server_key", "secret_key", "callback_token")}[data.provider]
    for name in wrong:
        if getattr(data, name) is not None:
            raise ValidationFailed(f"{name} is not a {data.provider} setting",
                                   details={"field": name})
    secret = data.server_key if data.provider == "midtrans" else data.secret_key
    changed = {"secret": "kept", "callback_token": "kept"}
    if secret is not None:
        row.secret_sealed = vault.seal(row.tenant_id, row.id, "secret", secret)
        row.secret_last4, changed["secret"] = secret[-4:], "changed"
    if data.callback_token is not None:
        row.callback_token_sealed = vault.seal(row.tenant_id, row.id, "callback_token",
                                               data.callback_token)
        row.callback_token_last4 = data.callback_token[-4:]
        row.callback_token_lookup = vault.lookup(data.callback_token)
        changed["callback_token"] = "changed"
    if data.provider != "none" and not row.secret_sealed:
        field = "server_key" if data.provider == "midtrans" else "secret_key"
        raise ValidationFailed(f"{field} is required for {data.provider}", details={"field": field})
    if data.provider == "xendit" and not row.callback_token_sealed:
        raise ValidationFailed("callback_token is required for xendit",
                               details={"field": "callback_token"})
    row.provider = data.provider
    row.api_base_url = _checked_url(data.api_base_url, data.provider)
    row.qr_expiry_seconds = data.qr_expiry_seconds
    row.static_qris = data.static_qris
    row.ewallet_channels = sorted(set(data.ewallet_channels), key=EWALLET_CHANNELS.index)
    row.updated_at = utcnow()
    await session.flush()
    entity_type, entity_id = scope.entity
    after = _audit_view(row)
    assert after is not None
    after.update({f"{name}_change": value for name, value in changed.items()})
    audit.record(session, principal, "payment_gateway.update", entity_type, entity_id, before,
                 after)
    return row


async def put_outlet_credential(session: AsyncSession, vault: CredentialVault,
                                principal: Principal, outlet_id: str,
                                data: CredentialSet) -> GatewayCredential:
    require(principal, "payments:configure")
    outlet = await get_outlet(session, principal, outlet_id)
    return await _put(session, vault, principal, _Scope(outlet.id, None), data)


async def put_brand_credential(session: AsyncSession, vault: CredentialVault,
                               principal: Principal, brand_id: str,
                               data: CredentialSet) -> GatewayCredential:
    require(principal, "payments:configure")
    brand = await get_brand(session, principal, brand_id)
    return await _put(session, vault, principal, _Scope(None, brand.id), data)


async def get_outlet_credentials(session: AsyncSession, principal: Principal,
                                 outlet_id: str) -> OutletCredentialsOut:
    require(principal, "payments:configure")
    outlet = await get_outlet(session, principal, outlet_id)
    own = await session.scalar(select(GatewayCredential)
                               .where(GatewayCredential.outlet_id == outlet.id))
    brand = await session.scalar(select(GatewayCredential)
                                 .where(GatewayCredential.brand_id == outlet.brand_id))
    effective = "outlet" if own is not None else "brand" if brand is not None else "none"
    return OutletCredentialsOut(outlet_id=outlet.id, effective=effective,
                                credential=to_out(own) if own else None,
                                brand_credential=to_out(brand) if brand else None)


async def get_brand_credential(session: AsyncSession, principal: Principal,
                               brand_id: str) -> dict[str, Any]:
    require(principal, "payments:configure")
    brand = await get_brand(session, principal, brand_id)
    row = await session.scalar(select(GatewayCredential)
                               .where(GatewayCredential.brand_id == brand.id))
    return {"brand_id": brand.id, "credential": to_out(row) if row else None}


async def effective_credential(session: AsyncSession, outlet: Outlet) -> GatewayCredential | None:
    """The outlet's own credential, else its brand's, else None (the caller's session must
    see the outlet's tenant)."""
    own = await session.scalar(select(GatewayCredential)
                               .where(GatewayCredential.outlet_id == outlet.id))
    if own is not None:
        return own
    return await session.scalar(select(GatewayCredential)
                                .where(GatewayCredential.brand_id == outlet.brand_id))


def secret_of(vault: CredentialVault, row: GatewayCredential, field: str = "secret") -> str:
    """The unsealed secret ("" when none is set or it does not open under this hub's key)."""
    sealed = row.secret_sealed if field == "secret" else row.callback_token_sealed
    return vault.unseal(row.tenant_id, row.id, field, sealed) or ""
