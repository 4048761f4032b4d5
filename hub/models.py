"""The hub's tables (SQLAlchemy 2.x declarative models), the single source of its schema.

Every tenant-owned table inherits ``TenantOwned`` (a ``tenant_id`` column). On PostgreSQL each
of them carries a Row-Level Security policy (created by the migrations, see
``hub.db.tenant_rls_sql``); on both backends a tenant-scoped session also adds
``tenant_id = :tenant`` to every ORM query (``hub.db``). The ``tenants`` row itself is keyed
by ``id`` and protected the same way.

Groups of tables:
* identity: tenants, brands, outlets, users, user_outlets, refresh_tokens, login_attempts
* head office: categories, products, modifier_groups, modifier_options, outlet_prices,
  outlet_availability, catalog_versions, catalog_snapshots (the last two are immutable),
  audit_log (append-only)
* synced edge data (written by the sync engine, read by reports): orders, order_lines,
  payments, kitchen_events, shifts, cash_movements, edge_availability
* report roll-ups (written and read by ``hub.reports``): report_daily, report_daily_items
* operations: outlet_status (fleet view), job_runs (scheduled job claims; system table)

On PostgreSQL the fact tables orders, order_lines, payments, kitchen_events and sync_journal
are partitioned by month (migration 0500, ``hub.partitions``): there the primary key also
holds the partition key (an order's business_day, carried by its lines; a payment's
created_at; a kitchen event's at; a journal entry's received_at). The models keep the ids as
their keys: that is what the ORM identifies rows by, and SQLite has no partitions.

Money columns are BigInteger minor units. Times are timezone-aware UTC (``UTCDateTime``).
Ids are UUIDv7 strings minted where the record was born (``shared.ids.new_id``); synced rows
keep the edge's id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.ids import new_id

__all__ = [
    "ALL_OUTLETS",
    "IMMUTABLE_TABLES",
    "REPORT_SCALARS",
    "ROLES",
    "STATEMENT_SCALARS",
    "TENANT_TABLES",
    "AuditEntry",
    "Base",
    "Brand",
    "CashMovementRow",
    "CatalogSnapshot",
    "CatalogVersion",
    "Category",
    "EdgeAvailability",
    "JobRun",
    "JsonType",
    "KitchenEventRow",
    "LoginAttempt",
    "ModifierGroup",
    "ModifierOption",
    "OrderLineRow",
    "OrderRow",
    "Outlet",
    "OutletAvailability",
    "OutletPrice",
    "OutletStatus",
    "PaymentRow",
    "Product",
    "RefreshToken",
    "RefundRow",
    "ShiftRow",
    "Tenant",
    "TenantFact",
    "TenantOwned",
    "UTCDateTime",
    "User",
    "UserOutlet",
    "report_daily",
    "report_daily_items",
    "utcnow",
]

ROLES = ("owner", "hq_admin", "area_manager", "outlet_manager", "technician")

# Stable constraint names so Alembic migrations can refer to them on every backend.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

JsonType = JSON().with_variant(JSONB(), "postgresql")
IdStr = String(64)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the hub stores UTC times with a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


class TenantOwned:
    """Mixin for every row that belongs to one tenant (RLS + ORM tenant filter apply)."""

    tenant_id: Mapped[str] = mapped_column(IdStr, ForeignKey("tenants.id"), index=True)


class TenantFact(TenantOwned):
    """TenantOwned for the high-volume rows only the sync ingest writes (journal, kitchen
    events, payments, order lines): no foreign keys to tenants/outlets, whose per-row check
    cost about a third of PostgreSQL's time in a backlog drain, and no tenant-only index
    where a composite index starts with tenant_id. Row-Level Security still binds every row
    to its tenant; the outlet comes from the verified sync credential (hub.ingest)."""

    tenant_id: Mapped[str] = mapped_column(IdStr)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow)


def _updated() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# ---------------------------------------------------------------- identity


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(8), default="IDR")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Brand(TenantOwned, Base):
    __tablename__ = "brands"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_brands_tenant_name"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Outlet(TenantOwned, Base):
    __tablename__ = "outlets"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str] = mapped_column(String(8), default="IDR")
    # Tax and service charge (shared.schemas.TaxConfig, shared.pricing)
    service_rate_bp: Mapped[int] = mapped_column(Integer, default=500)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=1000)
    tax_name: Mapped[str] = mapped_column(String(200), default="PB1")
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    rounding_unit: Mapped[int] = mapped_column(Integer, default=1)
    # Other outlet settings sent to the edge (e.g. {"kitchen_trigger": "place"})
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class User(TenantOwned, Base):
    __tablename__ = "users"
    # Emails are unique per tenant, not across tenants (no cross-tenant oracle; hub.tenancy).
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_users_tenant_email"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), index=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))  # one of ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # In every access token ("ver"); raised to end the user's access tokens at once (hub.identity).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class UserOutlet(TenantOwned, Base):
    """The outlets an area_manager / outlet_manager / technician is limited to."""

    __tablename__ = "user_outlets"
    user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)


class RefreshToken(TenantOwned, Base):
    """One issued refresh token (stored as a SHA-256 digest). A family is one login's chain."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    family_id: Mapped[str] = mapped_column(IdStr, index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(Base):
    """Login attempts counted per key: "pair:<ip>|<email>" or "ip:<ip>" (system table, no
    tenant). An attempt is counted before its password is checked (hub.identity)."""

    __tablename__ = "login_attempts"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(TenantOwned, Base):
    """Who changed what, when, with the record before and after (append-only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    actor_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))  # e.g. "product.update"
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(IdStr)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = _created()


# ---------------------------------------------------------------- catalog


class Category(TenantOwned, Base):
    __tablename__ = "categories"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    station: Mapped[str] = mapped_column(String(200), default="kitchen")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    color: Mapped[str] = mapped_column(String(200), default="")
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Product(TenantOwned, Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"), index=True)
    category_id: Mapped[str] = mapped_column(IdStr, ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    price: Mapped[int] = mapped_column(BigInteger)  # brand price; outlets may override
    image_url: Mapped[str] = mapped_column(String(200), default="")
    color: Mapped[str] = mapped_column(String(200), default="")
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    modifier_group_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ModifierGroup(TenantOwned, Base):
    __tablename__ = "modifier_groups"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    min_choices: Mapped[int] = mapped_column(Integer, default=0)
    max_choices: Mapped[int] = mapped_column(Integer, default=1)
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ModifierOption(TenantOwned, Base):
    __tablename__ = "modifier_options"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(IdStr, ForeignKey("modifier_groups.id",
                                                            ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    price_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)


class OutletPrice(TenantOwned, Base):
    """An outlet's override of a product's brand price."""

    __tablename__ = "outlet_prices"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(IdStr, ForeignKey("products.id"), primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = _updated()


class OutletAvailability(TenantOwned, Base):
    """Head office's per-outlet availability override of a product."""

    __tablename__ = "outlet_availability"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(IdStr, ForeignKey("products.id"), primary_key=True)
    available: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = _updated()


class CatalogVersion(TenantOwned, Base):
    """A published brand catalog (immutable): the brand menu plus every outlet override."""

    __tablename__ = "catalog_versions"
    __table_args__ = (UniqueConstraint("brand_id", "version", name="uq_catalog_versions_brand_version"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JsonType)
    published_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    published_at: Mapped[datetime] = _created()


class CatalogSnapshot(TenantOwned, Base):
    """One outlet's resolved menu of one version: a shared.schemas.Catalog as JSON (immutable)."""

    __tablename__ = "catalog_snapshots"
    __table_args__ = (UniqueConstraint("outlet_id", "version", name="uq_catalog_snapshots_outlet_version"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), index=True)
    brand_id: Mapped[str] = mapped_column(IdStr, ForeignKey("brands.id"))
    version: Mapped[int] = mapped_column(Integer)
    catalog: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()


# ---------------------------------------------------------------- synced edge data
# Field names mirror shared.schemas (Order, OrderLine, Payment, KitchenEvent, Shift,
# CashMovement). Order.table is stored as ``table_label`` ("table" is an SQL keyword).


OPEN_BILL_SQL = "table_id IS NOT NULL AND status IN ('placed', 'in_kitchen', 'ready')"


class OrderRow(TenantOwned, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_tenant_outlet_day", "tenant_id", "outlet_id", "business_day"),
        Index("ix_orders_tenant_created", "tenant_id", "created_at"),
        # Lets a report fingerprint a period's orders from the index alone (hub.reports).
        Index("ix_orders_report_fingerprint", "tenant_id", "business_day", "outlet_id",
              "edge_seq", "updated_at"),
        # table service (0430), partial so counter orders cost nothing: the parts of a split
        # bill (hub.reports: its items count once its parts do), the open bills at tables
        # (hub.fleet)
        Index("ix_orders_tenant_split_from", "tenant_id", "split_from",
              postgresql_where=text("split_from IS NOT NULL"),
              sqlite_where=text("split_from IS NOT NULL")),
        Index("ix_orders_open_bills", "tenant_id", "outlet_id",
              postgresql_where=text(OPEN_BILL_SQL), sqlite_where=text(OPEN_BILL_SQL)),
    )
    # No tenant-only index: the composite indexes above start with tenant_id (0110).
    tenant_id: Mapped[str] = mapped_column(IdStr, ForeignKey("tenants.id"))
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)  # the edge's UUIDv7
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"))
    number: Mapped[int] = mapped_column(Integer)
    business_day: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(8))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    service_charge: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    rounding: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    table_label: Mapped[str] = mapped_column(String(200), default="")
    void_reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Journal seq of the snapshot applied: a snapshot with a lower seq never overwrites it.
    edge_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime] = _created()
    # discounts at the till and approvals (migration 0410): who approved what
    discount_reason: Mapped[str] = mapped_column(String(200), default="")
    discount_approved_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    void_approved_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # table service (migration 0430, docs/table-service.md "Head-office reports")
    table_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    covers: Mapped[int] = mapped_column(Integer, default=0)
    seated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    split_from: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    split_part: Mapped[str] = mapped_column(String(200), default="")
    split_count: Mapped[int] = mapped_column(Integer, default=0)  # len(split_into)
    merged_into: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    # the updated_at of the first snapshot that was "completed" (kept by later snapshots)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrderLineRow(TenantFact, Base):
    __tablename__ = "order_lines"
    tenant_id: Mapped[str] = mapped_column(IdStr, index=True)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    # No foreign key to orders (0500): a key to a partitioned table would be validated over
    # the whole table when it is converted; only the ingest writes lines, with their order.
    order_id: Mapped[str] = mapped_column(IdStr, index=True)
    outlet_id: Mapped[str] = mapped_column(IdStr)
    product_id: Mapped[str] = mapped_column(IdStr, index=True)
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    line_total: Mapped[int] = mapped_column(BigInteger)
    modifiers: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    note: Mapped[str] = mapped_column(String(500), default="")
    station: Mapped[str] = mapped_column(String(200), default="kitchen")
    # table service (migration 0430): a "voided" line is kept for the record, never sold
    state: Mapped[str] = mapped_column(String(16), default="sent")
    round: Mapped[int] = mapped_column(Integer, default=0)
    course: Mapped[str] = mapped_column(String(200), default="")
    seat: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    void_reason: Mapped[str] = mapped_column(String(200), default="")
    voided_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    # The order's business day, the line's partition key on PostgreSQL (migration 0500)
    business_day: Mapped[date] = mapped_column(Date)


class PaymentRow(TenantFact, Base):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_tenant_outlet_created", "tenant_id", "outlet_id",
                            "created_at"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    order_id: Mapped[str] = mapped_column(IdStr, index=True)
    outlet_id: Mapped[str] = mapped_column(IdStr)
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    tendered: Mapped[int] = mapped_column(BigInteger, default=0)
    change: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift_id: Mapped[str | None] = mapped_column(IdStr, nullable=True, index=True)
    staff_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    received_at: Mapped[datetime] = _created()


class RefundRow(TenantOwned, Base):
    """A refund an outlet made (shared.schemas.Refund), upserted by id: the higher journal
    seq wins, so a pending gateway refund becomes done or failed (migration 0410)."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_tenant_order", "tenant_id", "order_id"),
                      Index("ix_refunds_tenant_outlet_created", "tenant_id", "outlet_id",
                            "created_at"))
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr)
    order_id: Mapped[str] = mapped_column(IdStr)
    payment_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    reason: Mapped[str] = mapped_column(String(200), default="")
    approved_by: Mapped[str] = mapped_column(IdStr)
    gateway: Mapped[str] = mapped_column(String(16), default="")
    gateway_refund_id: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    staff_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    edge_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime] = _created()


class KitchenEventRow(TenantFact, Base):
    __tablename__ = "kitchen_events"
    __table_args__ = (
        Index("ix_kitchen_events_tenant_outlet_at", "tenant_id", "outlet_id", "at"),
        # One row per kitchen action, whatever event id carried it (migration 0110).
        Index("uq_kitchen_events_ticket_action_at", "ticket_id", "action", "at", unique=True),
    )
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)  # the journal entry's event_id
    outlet_id: Mapped[str] = mapped_column(IdStr)
    ticket_id: Mapped[str] = mapped_column(IdStr)
    order_id: Mapped[str] = mapped_column(IdStr, index=True)
    station: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))  # created | bumped | recalled | undone
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = _created()


class ShiftRow(TenantOwned, Base):
    __tablename__ = "shifts"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), index=True)
    opened_by: Mapped[str] = mapped_column(IdStr)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opening_float: Mapped[int] = mapped_column(BigInteger)
    closed_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expected_cash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    difference: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    edge_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime] = _created()


class CashMovementRow(TenantOwned, Base):
    __tablename__ = "cash_movements"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"))
    shift_id: Mapped[str] = mapped_column(IdStr, index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    received_at: Mapped[datetime] = _created()


class EdgeAvailability(TenantOwned, Base):
    """The latest sold-out decision an outlet reported (AvailabilityEvent)."""

    __tablename__ = "edge_availability"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    available: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- report roll-ups
# Core tables (no ORM class): hub.reports reads and writes them set-based only. Their
# outlet_id has no foreign key: ALL_OUTLETS marks a tenant-wide cell.

# The outlet_id of a tenant-wide cell: the sum of all the tenant's outlet cells of that day,
# so an owner's month report sums ~30 cells instead of ~30 per outlet.
ALL_OUTLETS = "*"
# The money of a cell's sales as an accountant adds it up (hub.reports.cells: "sales_*" over
# every sale, "open_*" over the sales not fully paid).
STATEMENT_SCALARS = ("sales_gross", "sales_discount", "sales_service", "sales_tax",
                     "sales_rounding", "sales_paid", "sales_overpaid",
                     "open_gross", "open_discount", "open_service", "open_tax",
                     "open_rounding", "open_total", "open_paid")
# The scalar figures of a cell, one BigInteger column each (hub.reports.cells.DayCell).
REPORT_SCALARS = ("order_count", "gross_total", "paid_orders", "void_count", "void_amount",
                  "voided_unpaid", "refund_count", "refund_amount",
                  # the sales statement (migration 0440): all sales, and those not fully paid
                  *STATEMENT_SCALARS)

# One row per (tenant, outlet, business day) that has orders: the fingerprint of the orders it
# was computed from and the day's scalar figures...
report_daily = Table(
    "report_daily", metadata,
    Column("tenant_id", IdStr, ForeignKey("tenants.id"), primary_key=True),
    Column("outlet_id", IdStr, primary_key=True),  # an outlet id, or ALL_OUTLETS
    Column("business_day", Date, primary_key=True),
    Column("order_rows", Integer, nullable=False),
    Column("max_edge_seq", BigInteger, nullable=False),
    Column("max_updated_at", UTCDateTime, nullable=False),
    Column("format", Integer, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in REPORT_SCALARS),
    Column("refreshed_at", UTCDateTime, nullable=False),
)

# ...and its breakdowns, one row per (kind, key), so a month of them is summed by SQL:
# kind "hour" (key 0-23: orders, amount), "product" (key product id: qty, revenue, name),
# "method" (payments, amount), "prep" (key seconds: tickets).
report_daily_items = Table(
    "report_daily_items", metadata,
    Column("tenant_id", IdStr, ForeignKey("tenants.id"), primary_key=True),
    Column("outlet_id", IdStr, primary_key=True),  # an outlet id, or ALL_OUTLETS
    Column("business_day", Date, primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", IdStr, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
)


# ---------------------------------------------------------------- operations


class OutletStatus(TenantOwned, Base):
    """Fleet view of one outlet; the sync engine updates it on every contact."""

    __tablename__ = "outlet_status"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reported_backlog: Mapped[int] = mapped_column(BigInteger, default=0)
    edge_version: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    journal_alarm: Mapped[str] = mapped_column(Text, default="")  # "" = journal consistent
    updated_at: Mapped[datetime] = _updated()


class JobRun(Base):
    """A claim on one time slot of a scheduled job: the primary key makes it run once."""

    __tablename__ = "job_runs"
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    runner: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[str] = mapped_column(Text, default="")


# Tables whose rows belong to one tenant (the tenants table is handled by its id).
TENANT_TABLES: tuple[str, ...] = tuple(
    table.name for table in Base.metadata.sorted_tables if "tenant_id" in table.c
)
# Published catalogs and the audit log are never updated or deleted by the hub.
IMMUTABLE_TABLES: tuple[str, ...] = ("catalog_versions", "catalog_snapshots", "audit_log")
