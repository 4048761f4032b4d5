"""What an outlet's box pulls about payments (feed kinds "payments" and "confirmations"; the
feed itself is ``hub.ingest.feed``).

* ``payment_settings``: the outlet's effective credential (its own, else its brand's) as
  ``PaymentSettings``, with the secret key unsealed for this outlet's feed only. Without any
  credential the kind is not stated at all (the box keeps its local settings).
* ``confirmations``: the outlet's verified gateway notifications of the last
  ``CONFIRMATION_WINDOW`` as ``GatewayConfirmation``s, at most ``MAX_CONFIRMATIONS`` (newest
  kept); none at all = the kind is not stated. Per gateway order: its first "paid" (and "refunded" when there is one), else its
  latest end ("expired", "cancelled", "failed"); never a pending one, never one flagged
  (amount or outlet mismatch, unrouted), and never one whose amount differs from the
  outlet's synced attempt (an attempt synced after its webhook is checked here too). The
  edge applies them idempotently by gateway order id, so a confirmation seen twice, or
  webhook and poll racing, records one payment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.gateways.credentials import effective_credential, secret_of
from hub.gateways.models import GatewayNotification, HubPaymentAttempt
from hub.gateways.vault import CredentialVault
from hub.models import Outlet
from sync.protocol import MAX_CONFIRMATIONS, GatewayConfirmation, PaymentSettings

__all__ = ["CONFIRMATION_WINDOW", "confirmations", "payment_settings"]

CONFIRMATION_WINDOW = timedelta(hours=48)
_ENDS = ("expired", "cancelled", "failed")


async def payment_settings(session: AsyncSession, vault: CredentialVault,
                           outlet: Outlet) -> PaymentSettings | None:
    """None when head office set no credential for the outlet or its brand: the box keeps
    the settings it was given locally (``python -m edge.payments configure``)."""
    row = await effective_credential(session, outlet)
    if row is None:
        return None
    if row.provider == "none":
        return PaymentSettings()
    return PaymentSettings(provider=row.provider, api_base_url=row.api_base_url,
                           server_key=secret_of(vault, row),
                           qr_expiry_seconds=row.qr_expiry_seconds, static_qris=row.static_qris,
                           ewallet_channels=list(row.ewallet_channels or []))


async def confirmations(session: AsyncSession, outlet_id: str,
                        now: datetime) -> list[GatewayConfirmation]:
    found = (await session.execute(
        select(GatewayNotification, HubPaymentAttempt.amount)
        .outerjoin(HubPaymentAttempt, and_(
            HubPaymentAttempt.tenant_id == GatewayNotification.tenant_id,
            HubPaymentAttempt.gateway_order_id == GatewayNotification.gateway_order_id))
        .where(GatewayNotification.outlet_id == outlet_id,
               GatewayNotification.received_at >= now - CONFIRMATION_WINDOW,
               GatewayNotification.flag == "",
               GatewayNotification.status.in_(("paid", "refunded", *_ENDS)))
        .order_by(GatewayNotification.received_at.desc(), GatewayNotification.id.desc())
        .limit(MAX_CONFIRMATIONS * 2))).all()
    by_order: dict[str, dict[str, GatewayNotification]] = {}
    for row, attempt_amount in found:
        if attempt_amount is not None and row.status == "paid" and attempt_amount != row.gross_amount:
            continue
        held = by_order.setdefault(row.gateway_order_id, {})
        if row.status in _ENDS:
            held.setdefault("end", row)  # newest first: the latest end
        else:
            held[row.status] = row  # newest first: ends on the first received
    chosen: list[GatewayNotification] = []
    for held in by_order.values():
        if "paid" in held:
            chosen += [held["paid"], *([held["refunded"]] if "refunded" in held else [])]
        elif "refunded" in held:
            chosen.append(held["refunded"])
        elif "end" in held:
            chosen.append(held["end"])
    chosen.sort(key=lambda r: r.received_at, reverse=True)
    return [GatewayConfirmation(gateway=r.gateway, gateway_order_id=r.gateway_order_id,
                                transaction_id=r.transaction_id, status=r.status,
                                gross_amount=r.gross_amount, payment_type=r.payment_type,
                                received_at=r.received_at)
            for r in chosen[:MAX_CONFIRMATIONS]]
