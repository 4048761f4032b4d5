"""Hub tables of the payment gateways (on the hub's metadata, ``hub.models.Base``).

* ``gateway_credentials``: one per outlet or per brand (an outlet without its own uses its
  brand's). Secrets are sealed (``hub.gateways.vault``): ``secret_sealed`` is the Midtrans
  server key or the Xendit secret key, ``callback_token_sealed`` the Xendit callback token;
  ``callback_token_lookup`` is an HMAC of that token under a key derived from the hub's key,
  to find the credential a callback's ``x-callback-token`` belongs to. ``secret_last4`` and
  ``callback_token_last4`` are what the API shows.
* ``gateway_notifications``: every verified webhook, once: unique by (tenant, gateway,
  gateway order id, status, transaction id), so a duplicate or a replay changes nothing.
  ``outlet_id`` is the outlet it was filed under ("" when it named none of the credential's
  outlets), ``flag`` why it is not a confirmation ("amount_mismatch", "unrouted") or "".
* ``hub_payment_attempts``: the edges' payment attempts, as synced (``payment_attempt``
  events; the higher journal seq wins).
* ``payment_reconciliations``: the daily reconciliation's result per (outlet, day).

Every table is tenant-owned and under Row-Level Security on PostgreSQL (migration 0400).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, JsonType, TenantOwned, UTCDateTime, utcnow
from shared.ids import new_id

__all__ = ["GATEWAY_TENANT_TABLES", "GatewayCredential", "GatewayNotification",
           "HubPaymentAttempt", "PaymentReconciliation"]

IdStr = String(64)
GATEWAY_TENANT_TABLES = ("gateway_credentials", "gateway_notifications", "hub_payment_attempts",
                         "payment_reconciliations")


class GatewayCredential(TenantOwned, Base):
    __tablename__ = "gateway_credentials"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    # exactly one of outlet_id / brand_id is set (the scope)
    outlet_id: Mapped[str | None] = mapped_column(IdStr, ForeignKey("outlets.id"), nullable=True,
                                                  unique=True)
    brand_id: Mapped[str | None] = mapped_column(IdStr, ForeignKey("brands.id"), nullable=True,
                                                 unique=True)
    provider: Mapped[str] = mapped_column(String(16))  # none | midtrans | xendit
    api_base_url: Mapped[str] = mapped_column(String(200), default="")
    secret_sealed: Mapped[str] = mapped_column(String(600), default="")
    secret_last4: Mapped[str] = mapped_column(String(4), default="")
    callback_token_sealed: Mapped[str] = mapped_column(String(600), default="")
    callback_token_last4: Mapped[str] = mapped_column(String(4), default="")
    callback_token_lookup: Mapped[str] = mapped_column(String(64), default="", index=True)
    qr_expiry_seconds: Mapped[int] = mapped_column(Integer, default=300)
    static_qris: Mapped[str] = mapped_column(String(512), default="")
    ewallet_channels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GatewayNotification(TenantOwned, Base):
    __tablename__ = "gateway_notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "gateway", "gateway_order_id", "status", "transaction_id",
                         name="uq_gateway_notifications_once"),
        Index("ix_gateway_notifications_outlet_received", "tenant_id", "outlet_id", "received_at"),
        Index("ix_gateway_notifications_order", "tenant_id", "gateway_order_id"),
    )
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, default="")
    credential_id: Mapped[str] = mapped_column(IdStr)
    gateway: Mapped[str] = mapped_column(String(16))  # midtrans | xendit
    gateway_order_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(100), default="")
    # paid | pending | expired | cancelled | failed | refunded | other
    status: Mapped[str] = mapped_column(String(16))
    gateway_status: Mapped[str] = mapped_column(String(40), default="")  # as the gateway said it
    gross_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8), default="IDR")
    payment_type: Mapped[str] = mapped_column(String(40), default="")
    gateway_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    flag: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # signature removed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HubPaymentAttempt(TenantOwned, Base):
    __tablename__ = "hub_payment_attempts"
    __table_args__ = (
        Index("ix_hub_payment_attempts_outlet_created", "tenant_id", "outlet_id", "created_at"),
        Index("ix_hub_payment_attempts_gateway_order", "tenant_id", "gateway_order_id"),
    )
    tenant_id: Mapped[str] = mapped_column(IdStr, ForeignKey("tenants.id"))
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)  # the edge's UUIDv7
    outlet_id: Mapped[str] = mapped_column(IdStr)
    order_id: Mapped[str] = mapped_column(IdStr)
    method: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="")
    gateway: Mapped[str] = mapped_column(String(16))
    gateway_order_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edge_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentReconciliation(TenantOwned, Base):
    __tablename__ = "payment_reconciliations"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    differences: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
