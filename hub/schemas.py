"""Wire types of the hub's head-office API (msgspec Structs): inputs ``XCreate`` / ``XUpdate``
and outputs ``XOut``. Edge-facing types (Catalog, Order, ...) live in shared/schemas.py.

Updates are partial: a field left out stays ``UNSET`` and is not touched. Inputs forbid
unknown fields so a typo is a 400, not a silently ignored key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from shared.schemas import Amount, Basis, Id, Note, ShortText, SignedAmount

__all__ = [
    "AuditEntryOut",
    "AvailabilityOut",
    "AvailabilitySet",
    "BrandCreate",
    "BrandOut",
    "BrandUpdate",
    "CatalogVersionOut",
    "CategoryCreate",
    "CategoryOut",
    "CategoryUpdate",
    "CountAmount",
    "DayFigures",
    "FleetEntry",
    "HourFigures",
    "KitchenFigures",
    "LoginRequest",
    "MeOut",
    "MethodFigures",
    "ModifierGroupCreate",
    "ModifierGroupOut",
    "ModifierGroupUpdate",
    "OptionIn",
    "OptionOut",
    "OutletCreate",
    "OutletFigures",
    "OutletOut",
    "OutletUpdate",
    "PaymentSuccess",
    "PriceOut",
    "PriceSet",
    "ProductCreate",
    "ProductFigures",
    "ProductOrder",
    "ProductOut",
    "ProductUpdate",
    "RefreshRequest",
    "ReportSource",
    "Role",
    "SalesReport",
    "SalesStatement",
    "StaffCreate",
    "StaffOut",
    "StaffUpdate",
    "TenantOut",
    "TenantUpdate",
    "UserCreate",
    "UserOut",
    "UserUpdate",
    "apply_update",
    "to_out",
]

Role = Literal["owner", "hq_admin", "area_manager", "outlet_manager", "technician"]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=8, max_length=200)]
Timezone = Annotated[str, Meta(min_length=1, max_length=64)]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
Rounding = Annotated[int, Meta(ge=1, le=100_000)]
Choices = Annotated[int, Meta(ge=0, le=50)]
MaxChoices = Annotated[int, Meta(ge=1, le=50)]
Names = dict[str, str]


class Input(Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# ---------------------------------------------------------------- auth


class LoginRequest(Input):
    email: Annotated[str, Meta(min_length=1, max_length=320)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]
    # Only needed when one email has accounts in several tenants (hub.identity.login).
    tenant_id: Annotated[str, Meta(max_length=64)] = ""


class RefreshRequest(Input):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=200)]


class MeOut(Struct, kw_only=True):
    user_id: str
    tenant_id: str
    email: str
    role: str
    outlet_ids: list[str] | None


# ---------------------------------------------------------------- tenants, brands, outlets


class TenantOut(Struct, kw_only=True):
    id: str
    name: str
    currency: str
    active: bool
    created_at: datetime


class TenantUpdate(Input):
    name: Name | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET


class BrandCreate(Input):
    name: Name


class BrandUpdate(Input):
    name: Name | UnsetType = UNSET


class BrandOut(Struct, kw_only=True):
    id: str
    name: str
    created_at: datetime


class OutletCreate(Input):
    name: Name
    timezone: Timezone
    brand_id: Id | None = None  # None: the tenant's only brand
    address: Note = ""
    currency: Currency = "IDR"
    service_rate_bp: Basis = 500
    tax_rate_bp: Basis = 1000
    tax_name: ShortText = "PB1"
    prices_include_tax: bool = False
    rounding_unit: Rounding = 1
    settings: dict[str, Any] = {}


class OutletUpdate(Input):
    name: Name | UnsetType = UNSET
    timezone: Timezone | UnsetType = UNSET
    address: Note | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    service_rate_bp: Basis | UnsetType = UNSET
    tax_rate_bp: Basis | UnsetType = UNSET
    tax_name: ShortText | UnsetType = UNSET
    prices_include_tax: bool | UnsetType = UNSET
    rounding_unit: Rounding | UnsetType = UNSET
    settings: dict[str, Any] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class OutletOut(Struct, kw_only=True):
    id: str
    brand_id: str
    name: str
    timezone: str
    address: str
    currency: str
    service_rate_bp: int
    tax_rate_bp: int
    tax_name: str
    prices_include_tax: bool
    rounding_unit: int
    settings: dict[str, Any]
    active: bool
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- users


class UserCreate(Input):
    email: Email
    password: Password
    role: Role
    name: ShortText = ""
    outlet_ids: list[Id] = []  # required for area_manager / outlet_manager


class UserUpdate(Input):
    name: ShortText | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    outlet_ids: list[Id] | UnsetType = UNSET


class UserOut(Struct, kw_only=True):
    id: str
    email: str
    name: str
    role: str
    active: bool
    outlet_ids: list[str]
    created_at: datetime


# ---------------------------------------------------------------- outlet staff (PIN logins)

StaffRole = Literal["cashier", "kitchen", "manager"]  # edge.devices.STAFF_ROLES
StaffName = Annotated[str, Meta(min_length=1, max_length=100)]
Pin = Annotated[str, Meta(pattern=r"^[0-9]{4,8}$")]


class StaffCreate(Input):
    name: StaffName
    role: StaffRole
    # Head office may choose a PIN (6+ digits for managers); left out, the hub draws one and
    # returns it once as ``generated_pin`` (the only way for scoped managers: security M6).
    pin: Pin | UnsetType = UNSET
    all_outlets: bool = False  # works at every outlet of the tenant, present and future
    outlet_ids: list[Id] = []  # else: these outlets (at least one)


class StaffUpdate(Input):
    name: StaffName | UnsetType = UNSET
    role: StaffRole | UnsetType = UNSET
    pin: Pin | UnsetType = UNSET
    new_pin: bool = False  # the hub draws a new PIN, returned once as ``generated_pin``
    active: bool | UnsetType = UNSET
    all_outlets: bool | UnsetType = UNSET
    outlet_ids: list[Id] | UnsetType = UNSET


class StaffOut(Struct, kw_only=True, omit_defaults=True):
    """A staff member as head office sees them: never their PIN or anything derived from it,
    except ``generated_pin`` in the one answer that drew it."""

    id: str
    name: str
    role: str
    active: bool
    all_outlets: bool
    outlet_ids: list[str]
    created_at: datetime
    updated_at: datetime
    has_pin: bool  # false: made before PINs were sealed (hub 0300): give them a new PIN
    generated_pin: str | None = None


# ---------------------------------------------------------------- catalog


class CategoryCreate(Input):
    brand_id: Id
    name: Name
    station: ShortText = "kitchen"
    sort: int = 0
    color: ShortText = ""
    names: Names = {}


class CategoryUpdate(Input):
    name: Name | UnsetType = UNSET
    station: ShortText | UnsetType = UNSET
    sort: int | UnsetType = UNSET
    color: ShortText | UnsetType = UNSET
    names: Names | UnsetType = UNSET


class CategoryOut(Struct, kw_only=True):
    id: str
    brand_id: str
    name: str
    station: str
    sort: int
    color: str
    names: Names
    archived: bool


class ProductCreate(Input):
    brand_id: Id
    category_id: Id
    name: Name
    price: Amount
    description: Note = ""
    image_url: ShortText = ""
    color: ShortText = ""
    available: bool = True
    modifier_group_ids: list[Id] = []
    sort: int = 0
    names: Names = {}


class ProductUpdate(Input):
    category_id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    price: Amount | UnsetType = UNSET
    description: Note | UnsetType = UNSET
    image_url: ShortText | UnsetType = UNSET
    color: ShortText | UnsetType = UNSET
    available: bool | UnsetType = UNSET
    modifier_group_ids: list[Id] | UnsetType = UNSET
    sort: int | UnsetType = UNSET
    names: Names | UnsetType = UNSET


class ProductOut(Struct, kw_only=True):
    id: str
    brand_id: str
    category_id: str
    name: str
    price: int
    description: str
    image_url: str
    color: str
    available: bool
    modifier_group_ids: list[str]
    sort: int
    names: Names
    archived: bool


class ProductOrder(Input):
    """The display order of a category's products: every live product's id, first to last."""

    product_ids: Annotated[list[Id], Meta(max_length=2000)]


class OptionIn(Input):
    name: Name
    id: Id | None = None  # keep an existing option's id (orders refer to it)
    price_delta: SignedAmount = 0
    available: bool = True
    sort: int = 0
    names: Names = {}


class OptionOut(Struct, kw_only=True):
    id: str
    name: str
    price_delta: int
    available: bool
    sort: int
    names: Names


class ModifierGroupCreate(Input):
    brand_id: Id
    name: Name
    min_choices: Choices = 0
    max_choices: MaxChoices = 1
    names: Names = {}
    options: Annotated[list[OptionIn], Meta(max_length=100)] = []


class ModifierGroupUpdate(Input):
    name: Name | UnsetType = UNSET
    min_choices: Choices | UnsetType = UNSET
    max_choices: MaxChoices | UnsetType = UNSET
    names: Names | UnsetType = UNSET
    options: Annotated[list[OptionIn], Meta(max_length=100)] | UnsetType = UNSET  # replaces all


class ModifierGroupOut(Struct, kw_only=True):
    id: str
    brand_id: str
    name: str
    min_choices: int
    max_choices: int
    names: Names
    archived: bool
    options: list[OptionOut]


class PriceSet(Input):
    price: Amount


class PriceOut(Struct, kw_only=True):
    outlet_id: str
    product_id: str
    price: int


class AvailabilitySet(Input):
    available: bool


class AvailabilityOut(Struct, kw_only=True):
    outlet_id: str
    product_id: str
    available: bool


class ReportedAvailabilityOut(Struct, kw_only=True):
    product_id: str
    available: bool
    at: datetime  # when the outlet decided it (edge clock)


class CatalogVersionOut(Struct, kw_only=True):
    id: str
    brand_id: str
    version: int
    published_at: datetime
    published_by: str | None
    outlets: int = 0  # outlets that received a snapshot


# ---------------------------------------------------------------- fleet, audit


class FleetEntry(Struct, kw_only=True):
    outlet_id: str
    outlet_name: str
    brand_id: str
    online: bool
    last_contact_at: datetime | None = None
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None
    reported_backlog: int = 0
    edge_version: str = ""
    last_error: str = ""
    journal_alarm: str = ""
    # Sync credentials not revoked; more than one is an alert (a second box, or a minted one).
    active_credentials: int = 0
    # table service: bills open at its tables (count, sum of their totals, earliest seated)
    open_bills: int = 0
    open_bill_value: int = 0
    oldest_seated_at: datetime | None = None


class AuditEntryOut(Struct, kw_only=True):
    id: str
    at: datetime
    actor_id: str | None
    actor_email: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str


# ---------------------------------------------------------------- reports (hub.reports)
# Money in integer minor units; docs/api.md and hub/reports/__init__.py say what each counts.


class CountAmount(Struct, kw_only=True):
    count: int
    amount: int


class PaymentSuccess(Struct, kw_only=True):
    paid_orders: int
    voided_unpaid_orders: int
    rate: float | None  # paid / (paid + voided unpaid); null when both are zero
    definition: str


class SalesStatement(Struct, kw_only=True):
    """The money of a set of sales as an accountant adds it up; it always holds that
    ``gross_sales - discounts - included_tax_service == net_sales``,
    ``net_sales + service_charge + tax + rounding == total`` and
    ``total == paid + outstanding`` (hub/reports/__init__.py defines each figure)."""

    orders: int = 0
    gross_sales: int = 0  # line totals at menu prices (not voided lines)
    discounts: int = 0  # order and line discounts
    included_tax_service: int = 0  # tax and service inside menu prices (prices incl. tax)
    net_sales: int = 0  # before service charge and tax
    service_charge: int = 0
    tax: int = 0
    rounding: int = 0  # cash rounding of the totals, + or -
    total: int = 0  # what the customers owe
    paid: int = 0  # payments, each order's counted up to its total
    outstanding: int = 0  # total - paid
    overpaid: int = 0  # payments beyond an order's total (not in paid)


class OutletFigures(Struct, kw_only=True):
    outlet_id: str
    name: str
    currency: str
    order_count: int
    gross_total: int
    void_count: int
    statement: SalesStatement = msgspec.field(default_factory=SalesStatement)  # every sale


class DayFigures(Struct, kw_only=True):
    day: str  # YYYY-MM-DD business day
    order_count: int
    gross_total: int
    statement: SalesStatement = msgspec.field(default_factory=SalesStatement)  # every sale


class HourFigures(Struct, kw_only=True):
    hour: int  # 0-23, the outlet's local time
    order_count: int
    gross_total: int


class ProductFigures(Struct, kw_only=True):
    product_id: str
    name: str
    qty: int
    revenue: int  # line totals, before order-level discount, service and tax


class MethodFigures(Struct, kw_only=True):
    method: str
    count: int
    amount: int


class ReasonFigures(Struct, kw_only=True):
    reason: str  # "" for discounts synced without one (older edges)
    count: int  # orders
    amount: int  # their discount


class KitchenFigures(Struct, kw_only=True):
    tickets: int
    p50_seconds: int | None
    p90_seconds: int | None
    average_seconds: float | None


class ReportSource(Struct, kw_only=True, omit_defaults=True):
    """Where the figures came from and what each phase cost (the phases a report did not
    run are left out)."""

    rollup_cells: int
    live_cells: int
    tenant_wide_days: int
    fingerprint_ms: float | None = None
    rollups_ms: float | None = None
    live_ms: float | None = None
    elapsed_ms: float = 0.0


class SalesReport(Struct, kw_only=True):
    """``GET /api/v1/reports/sales``: one period, one outlet or every outlet the caller sees."""

    day_from: str = msgspec.field(name="from")
    day_to: str = msgspec.field(name="to")
    outlet_id: str | None
    outlet_ids: list[str]
    currency: str | None  # null when the outlets use more than one
    order_count: int
    gross_total: int
    average_order_value: int
    voids: CountAmount
    refunds: CountAmount
    payment_success: PaymentSuccess
    by_outlet: list[OutletFigures]
    by_day: list[DayFigures]
    by_hour: list[HourFigures]
    by_product: list[ProductFigures]
    by_payment_method: list[MethodFigures]
    kitchen: KitchenFigures
    source: ReportSource
    # money given back after hand-over (refunds done), by how it went back, and the
    # discounts of sales by reason; both on the business day of their order
    refunds_by_method: list[MethodFigures] = []
    discounts_by_reason: list[ReasonFigures] = []
    # the sales statement (issue 13): every sale (``sales.total == gross_total``), and its
    # two parts, the sales paid in full and the open ones (payments short of the total)
    sales: SalesStatement = msgspec.field(default_factory=SalesStatement)
    settled: SalesStatement = msgspec.field(default_factory=SalesStatement)
    open: SalesStatement = msgspec.field(default_factory=SalesStatement)


def apply_update(row: Any, update: Struct) -> dict[str, Any]:
    """Copy the fields set in ``update`` onto ``row``; return what was set."""
    changed: dict[str, Any] = {}
    for name in update.__struct_fields__:
        value = getattr(update, name)
        if value is not UNSET:
            setattr(row, name, value)
            changed[name] = value
    return changed


def to_out(row: Any, out_type: type[Any], **extra: Any) -> Any:
    """Build an output Struct from a model row (plus computed fields)."""
    values = {name: getattr(row, name) for name in out_type.__struct_fields__ if name not in extra
              and hasattr(row, name)}
    values.update(extra)
    return msgspec.convert(values, out_type, from_attributes=True)


# ---------------------------------------------------------------- table service report


class TableFigures(Struct, kw_only=True):
    """Figures of a table, an area or all tables over a period (hub.reports.tables)."""

    parties: int  # bills seated (split parts and merged bills are not parties)
    covers: int
    turns: int  # parties whose bill(s) completed
    orders: int  # sales at the tables (split parts counted, split/merged bills not)
    sales: int  # their totals, minor units
    average_spend_per_cover: int | None  # sales // covers
    average_turn_seconds: float | None  # seated -> completed, over turns
    average_first_order_seconds: float | None  # seated -> first line sent, over parties
    voided_lines: int
    voided_amount: int


class AreaTableFigures(Struct, kw_only=True):
    outlet_id: str
    outlet_name: str
    area_id: str
    area: str
    table_id: str | None = None  # None on an area's row
    table: str = ""
    figures: TableFigures


class TablesReport(Struct, kw_only=True):
    """``GET /api/v1/reports/tables``: table service by area and table for a period."""

    day_from: str = msgspec.field(name="from")
    day_to: str = msgspec.field(name="to")
    outlet_id: str | None
    outlet_ids: list[str]
    currency: str | None
    totals: TableFigures
    by_area: list[AreaTableFigures]
    by_table: list[AreaTableFigures]
    definitions: dict[str, str]
