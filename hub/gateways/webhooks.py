"""The gateways' webhooks: verified against the tenant's stored credential, stored once each,
and filed under the outlet whose charge they confirm.

* **Midtrans** (``midtrans_notification``): the charge carries the outlet id in
  ``custom_field1``, which Midtrans echoes back; the outlet gives the tenant and its credential
  (``effective_credential``), and ``signature_key`` must equal
  SHA512(order_id + status_code + gross_amount + server key), compared in constant time. A
  notification naming no outlet is routed by its order id when the outlet's attempts have
  been synced; one the hub cannot route cannot be verified: ``404 unknown_outlet``.
* **Xendit** (``xendit_callback``): the ``x-callback-token`` header is looked up by its HMAC
  (``CredentialVault.lookup``), then compared in constant time with each credential that
  lookup finds; the outlet is ``metadata.outlet_id`` of the charge, which must be one the
  credential serves (else the callback is stored, flagged ``unrouted``).

A signature or token that does not verify is ``401`` and audited (tenant of the outlet it
named, when there is one) without the secret it was checked against. A verified notification
is inserted once: the table is unique by (tenant, gateway, gateway order id, status,
transaction id), so duplicates and replays (days later too) answer ``200 duplicate`` and
change nothing. Known orders (the outlet's synced payment attempts) are checked: an amount
that differs from the attempt's is stored flagged ``amount_mismatch`` and never served as a
confirmation. An order the hub does not know yet is stored and relayed (the edge knows its
own attempts; the box may not have synced yet) and answered ``200``: both gateways retry on
anything else, and a gateway retrying forever helps nobody.

Confirmations reach the outlet's box through its feed (``hub.gateways.feed``). Nothing here
logs a key, a token or a signature.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.db import Database
from hub.gateways.credentials import effective_credential, secret_of
from hub.gateways.models import GatewayCredential, GatewayNotification, HubPaymentAttempt
from hub.gateways.vault import CredentialVault
from hub.models import Outlet
from shared.errors import BadRequest, NotFound, Unauthorized
from shared.ids import new_id

__all__ = ["MAX_WEBHOOK_BYTES", "Forged", "WebhookResult", "midtrans_notification",
           "xendit_callback"]

log = logging.getLogger("hub.gateways")

MAX_WEBHOOK_BYTES = 16 * 1024  # a notification is about 1 KB
_MAX_CANDIDATES = 10  # credentials sharing one callback token (one Xendit account, many scopes)


class Forged(Unauthorized):
    """The signature or callback token does not verify against the tenant's credential."""

    code = "invalid_signature"


@dataclass
class WebhookResult:
    status: str  # stored | duplicate
    flag: str = ""
    outlet_id: str = ""

    def body(self) -> dict[str, str]:
        return {"status": self.status, "flag": self.flag}


@dataclass
class _Notice:
    """A webhook reduced to what the hub keeps (gateway-neutral)."""

    gateway: str
    gateway_order_id: str
    transaction_id: str
    status: str
    gateway_status: str
    gross_amount: int
    currency: str
    payment_type: str
    gateway_time: datetime | None
    body: dict[str, Any]


# ---------------------------------------------------------------- reading bodies


def _text(body: dict[str, Any], name: str, max_length: int, required: bool = False) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required", details={"field": name})
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise BadRequest(f"{name} must be a string of at most {max_length} characters",
                         details={"field": name})
    return value


def _amount(raw: Any, field: str) -> int:
    """A whole amount in minor units (IDR has none below the rupiah): "10000.00" or 10000."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise BadRequest(f"{field} must be an amount", details={"field": field})
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise BadRequest(f"{field} must be an amount", details={"field": field}) from None
    if not value.is_finite() or value < 0 or value != value.to_integral_value() or value > 2**53:
        raise BadRequest(f"{field} must be a whole, non-negative amount", details={"field": field})
    return int(value)


_JAKARTA = timezone(timedelta(hours=7))


def _time(raw: str) -> datetime | None:
    """An ISO time, or Midtrans's "YYYY-MM-DD HH:MM:SS" (Jakarta time, UTC+7)."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_JAKARTA)
    return parsed.astimezone(UTC)


_MIDTRANS_STATUS = {"settlement": "paid", "capture": "paid", "pending": "pending",
                    "expire": "expired", "cancel": "cancelled", "deny": "failed",
                    "failure": "failed", "refund": "refunded", "partial_refund": "refunded",
                    "authorize": "pending"}
_XENDIT_STATUS = {"SUCCEEDED": "paid", "COMPLETED": "paid", "PAID": "paid", "SETTLED": "paid",
                  "PENDING": "pending", "ACTIVE": "pending", "EXPIRED": "expired",
                  "INACTIVE": "expired", "VOIDED": "cancelled", "CANCELLED": "cancelled",
                  "FAILED": "failed", "REFUNDED": "refunded"}


def _midtrans_notice(body: dict[str, Any]) -> tuple[_Notice, str, str, str]:
    """The notice, plus what the signature covers: (status_code, gross_amount, signature)."""
    order_id = _text(body, "order_id", 64, required=True)
    status_code = _text(body, "status_code", 8, required=True)
    gross_raw = body.get("gross_amount")
    if not isinstance(gross_raw, str) or not gross_raw or len(gross_raw) > 32:
        raise BadRequest("gross_amount must be the string Midtrans sends, e.g. \"10000.00\"",
                         details={"field": "gross_amount"})
    signature = _text(body, "signature_key", 256, required=True)
    gateway_status = _text(body, "transaction_status", 40, required=True)
    status = _MIDTRANS_STATUS.get(gateway_status, "other")
    fraud = _text(body, "fraud_status", 40)
    if status == "paid" and fraud and fraud != "accept":
        status = "pending"  # a card "challenge" or "deny" is not money
    kept = {k: v for k, v in body.items() if k != "signature_key"}
    notice = _Notice(gateway="midtrans", gateway_order_id=order_id,
                     transaction_id=_text(body, "transaction_id", 100), status=status,
                     gateway_status=gateway_status, gross_amount=_amount(gross_raw, "gross_amount"),
                     currency=_text(body, "currency", 8) or "IDR",
                     payment_type=_text(body, "payment_type", 40),
                     gateway_time=_time(_text(body, "settlement_time", 40)
                                        or _text(body, "transaction_time", 40)), body=kept)
    return notice, status_code, gross_raw, signature


def _xendit_notice(body: dict[str, Any]) -> tuple[_Notice, str]:
    """The notice and the outlet id the charge carried (``metadata.outlet_id``)."""
    event = _text(body, "event", 60)
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    assert isinstance(data, dict)
    qr = data.get("qr_code") if isinstance(data.get("qr_code"), dict) else {}
    order_id = (_text(data, "reference_id", 64) or _text(data, "external_id", 64)
                or _text(qr, "external_id", 64) or _text(data, "payment_id", 64))
    if not order_id:
        raise BadRequest("the callback names no reference_id", details={"field": "reference_id"})
    raw_amount = next((data[k] for k in ("amount", "capture_amount", "charge_amount")
                       if data.get(k) is not None), None)
    if raw_amount is None:
        raise BadRequest("the callback carries no amount", details={"field": "amount"})
    gateway_status = _text(data, "status", 40, required=True)
    status = _XENDIT_STATUS.get(gateway_status.upper(), "other")
    if "refund" in event and status == "paid":
        status = "refunded"
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    outlet_id = _text(metadata, "outlet_id", 64)
    notice = _Notice(gateway="xendit", gateway_order_id=order_id,
                     transaction_id=_text(data, "id", 100), status=status,
                     gateway_status=gateway_status, gross_amount=_amount(raw_amount, "amount"),
                     currency=_text(data, "currency", 8) or "IDR",
                     payment_type=_text(data, "channel_code", 40) or event[:40],
                     gateway_time=_time(_text(data, "updated", 40) or _text(data, "created", 40)),
                     body=body)
    return notice, outlet_id


# ---------------------------------------------------------------- verifying and storing


async def _refuse(db: Database, outlet: Outlet | None, gateway: str, order_id: str, reason: str,
                  client_ip: str) -> Forged:
    """Audit a refused webhook (under the outlet's tenant when it named one) and build the 401."""
    log.warning("gateway webhook refused", extra={"gateway": gateway, "reason": reason,
                                                  "client_ip": client_ip[:64],
                                                  "outlet_id": outlet.id if outlet else ""})
    if outlet is not None:
        async with db.tenant(outlet.tenant_id) as session:
            audit.record(session, None, "payment_gateway.webhook_refused", "outlet", outlet.id,
                         None, {"gateway": gateway, "order_id": order_id[:64], "reason": reason},
                         tenant_id=outlet.tenant_id, ip=client_ip, actor=f"gateway:{gateway}")
    return Forged(f"the {gateway} {reason}")


async def _store(db: Database, tenant_id: str, outlet_id: str, credential_id: str,
                 notice: _Notice, flag: str) -> WebhookResult:
    """Insert the notice once; check its amount against the outlet's synced attempt."""
    async with db.tenant(tenant_id) as session:
        if not flag:
            flag = await _check_attempt(session, outlet_id, notice)
        values = {"id": new_id(), "tenant_id": tenant_id, "outlet_id": outlet_id,
                  "credential_id": credential_id, "gateway": notice.gateway,
                  "gateway_order_id": notice.gateway_order_id,
                  "transaction_id": notice.transaction_id, "status": notice.status,
                  "gateway_status": notice.gateway_status, "gross_amount": notice.gross_amount,
                  "currency": notice.currency, "payment_type": notice.payment_type,
                  "gateway_time": notice.gateway_time, "flag": flag, "body": notice.body,
                  "received_at": datetime.now(UTC)}
        insert = pg_insert if db.is_postgres else sqlite_insert
        result = await session.execute(
            insert(GatewayNotification).values(**values).on_conflict_do_nothing(
                index_elements=["tenant_id", "gateway", "gateway_order_id", "status",
                                "transaction_id"]).returning(GatewayNotification.id))
        stored = result.scalar() is not None
    if flag:
        log.warning("gateway notification flagged",
                    extra={"gateway": notice.gateway, "flag": flag, "outlet_id": outlet_id,
                           "gateway_order_id": notice.gateway_order_id})
    return WebhookResult("stored" if stored else "duplicate", flag, outlet_id)


async def _check_attempt(session: AsyncSession, outlet_id: str, notice: _Notice) -> str:
    attempt = await session.scalar(select(HubPaymentAttempt).where(
        HubPaymentAttempt.gateway_order_id == notice.gateway_order_id).limit(1))
    if attempt is None:
        return ""
    if attempt.outlet_id != outlet_id:
        return "outlet_mismatch"
    if notice.status in ("paid", "pending") and attempt.amount != notice.gross_amount:
        return "amount_mismatch"
    return ""


async def midtrans_notification(db: Database, vault: CredentialVault, body: Any,
                                client_ip: str) -> WebhookResult:
    """Verify and store one Midtrans HTTP notification (see the module docstring)."""
    if not isinstance(body, dict):
        raise BadRequest("a notification is a JSON object")
    notice, status_code, gross_raw, signature = _midtrans_notice(body)
    outlet_id = _text(body, "custom_field1", 64)
    async with db.system() as session:
        if not outlet_id:  # routed by the synced attempt, when there is one
            outlet_id = await session.scalar(select(HubPaymentAttempt.outlet_id).where(
                HubPaymentAttempt.gateway_order_id == notice.gateway_order_id).limit(1)) or ""
        outlet = await session.get(Outlet, outlet_id) if outlet_id else None
        credential = await effective_credential(session, outlet) if outlet is not None else None
        server_key = (secret_of(vault, credential) if credential is not None
                      and credential.provider == "midtrans" else "")
    if outlet is None:
        raise NotFound("the notification names no outlet of this hub (custom_field1)",
                       details={"code": "unknown_outlet"})
    if not server_key:
        raise await _refuse(db, outlet, "midtrans", notice.gateway_order_id,
                            "notification is for an outlet without a Midtrans credential",
                            client_ip)
    expected = hashlib.sha512((notice.gateway_order_id + status_code + gross_raw
                               + server_key).encode()).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise await _refuse(db, outlet, "midtrans", notice.gateway_order_id,
                            "signature_key does not verify", client_ip)
    assert credential is not None
    result = await _store(db, outlet.tenant_id, outlet.id, credential.id, notice, "")
    for refund in _midtrans_refunds(body, notice):  # a partial refund repeats the charge's row
        if (await _store(db, outlet.tenant_id, outlet.id, credential.id, refund, "")).status == "stored":
            result.status = "stored"
    return result


_MAX_REFUNDS = 50  # refunds listed in one notification that are read


def _midtrans_refunds(body: dict[str, Any], charge: _Notice) -> list[_Notice]:
    """A refund notification (``refund`` / ``partial_refund``) lists the charge's refunds, each
    with the ``refund_key`` the box gave it (our refund id) and its amount: one "refunded"
    notice per refund, named by that key, so the box settles that very refund (the charge's
    own row says only that something of it was refunded)."""
    refunds = body.get("refunds")
    if charge.status != "refunded" or not isinstance(refunds, list):
        return []
    found = []
    for item in refunds[:_MAX_REFUNDS]:
        if not isinstance(item, dict):
            continue
        key = item.get("refund_key")
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            continue
        chargeback = item.get("refund_chargeback_id")
        found.append(_Notice(
            gateway="midtrans", gateway_order_id=key,
            transaction_id=str(chargeback)[:100] if chargeback is not None else "",
            status="refunded", gateway_status="refunded", currency=charge.currency,
            gross_amount=_amount(item.get("refund_amount"), "refunds.refund_amount"),
            payment_type="refund", gateway_time=_time(str(item.get("created_at") or "")[:40]),
            body={"order_id": charge.gateway_order_id, "refund": item}))
    return found


async def xendit_callback(db: Database, vault: CredentialVault, body: Any, token: str,
                          client_ip: str) -> WebhookResult:
    """Verify and store one Xendit callback (see the module docstring)."""
    if not isinstance(body, dict):
        raise BadRequest("a callback is a JSON object")
    notice, outlet_id = _xendit_notice(body)
    async with db.system() as session:
        outlet = await session.get(Outlet, outlet_id) if outlet_id else None
        valid: list[GatewayCredential] = []
        if token and len(token) <= 256:
            rows = await session.scalars(select(GatewayCredential).where(
                GatewayCredential.callback_token_lookup == vault.lookup(token),
                GatewayCredential.provider == "xendit").limit(_MAX_CANDIDATES))
            valid = [row for row in rows if hmac.compare_digest(
                secret_of(vault, row, "callback_token").encode(), token.encode())]
        serving = await effective_credential(session, outlet) if outlet is not None else None
    if not valid:
        raise await _refuse(db, outlet, "xendit", notice.gateway_order_id,
                            "x-callback-token does not verify", client_ip)
    chosen = next((row for row in valid if serving is not None and row.id == serving.id), None)
    if chosen is None or outlet is None:
        return await _store(db, valid[0].tenant_id, "", valid[0].id, notice, "unrouted")
    return await _store(db, outlet.tenant_id, outlet.id, chosen.id, notice, "")
