"""Hub tables for outlet staff and the outlet feed (on the hub's metadata, ``hub.models.Base``).

* ``staff``: people who log in at an outlet's tills with a PIN (cashier, kitchen, manager).
  The PIN is kept only as an argon2id hash plus an HMAC "lookup" under the tenant's PIN
  pepper; the lookup is unique among a tenant's active staff.
* ``staff_outlets``: the outlets a staff member works at (unless ``all_outlets``).
* ``staff_peppers``: one random PIN pepper per tenant (the HMAC key of the lookups; the edges
  of the tenant receive it with the staff snapshot to compute the same lookup at login).
* ``outlet_feed``: per outlet and feed kind (catalog, staff, settings), the version and
  checksum the outlet's feed last stated and its *position*, a per-outlet counter that is
  the pull cursor (hub.feed).

Every table is tenant-owned and gets Row-Level Security on PostgreSQL (migration 0200_staff).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, TenantOwned, UTCDateTime, utcnow
from shared.ids import new_id

__all__ = ["STAFF_TENANT_TABLES", "OutletFeedEntry", "StaffMember", "StaffOutlet", "StaffPepper"]

IdStr = String(64)
STAFF_TENANT_TABLES = ("staff", "staff_outlets", "staff_peppers", "outlet_feed")


class StaffMember(TenantOwned, Base):
    __tablename__ = "staff"
    __table_args__ = (
        # A PIN identifies one active person of the tenant (checked first for a clear 409).
        Index("uq_staff_tenant_pin_active", "tenant_id", "pin_lookup", unique=True,
              postgresql_where="active", sqlite_where="active"),
    )
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # cashier | kitchen | manager
    pin_hash: Mapped[str] = mapped_column(String(200))
    pin_lookup: Mapped[str] = mapped_column(String(64))
    all_outlets: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StaffOutlet(TenantOwned, Base):
    __tablename__ = "staff_outlets"
    staff_id: Mapped[str] = mapped_column(IdStr, ForeignKey("staff.id", ondelete="CASCADE"),
                                          primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True,
                                           index=True)


class StaffPepper(TenantOwned, Base):
    __tablename__ = "staff_peppers"
    # one row per tenant: the tenant is the key
    tenant_id: Mapped[str] = mapped_column(IdStr, ForeignKey("tenants.id"), primary_key=True)
    pepper: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutletFeedEntry(TenantOwned, Base):
    __tablename__ = "outlet_feed"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
