"""Hub tables for outlet staff and the outlet feed (on the hub's metadata, ``hub.models.Base``).

* ``staff``: people who log in at an outlet's tills with a PIN (cashier, kitchen, manager).
  The PIN is kept sealed (AES-GCM under the hub's PIN key, a setting, never in the database:
  ``pin_sealed``) plus an HMAC "lookup" under a key made of that hub key and the tenant's
  pepper; the lookup is unique among a tenant's active staff. ``pin_version`` grows with each
  new PIN. ``pin_hash`` is no longer written (rows made before migration 0300 had one).
* ``staff_outlets``: the outlets a staff member works at (unless ``all_outlets``).
* ``staff_peppers``: one random PIN pepper per tenant; it never leaves the hub.
* ``outlet_pin_salts``: one random salt per outlet: the salt of that outlet's PIN verifiers,
  sent in its staff snapshot only.
* ``staff_pin_verifiers``: the verifier of a staff member's PIN at one outlet (argon2id under
  the outlet's salt, shared.pins), computed once per (staff, outlet, PIN version, salt, cost).
* ``outlet_feed``: per outlet and feed kind (catalog, staff, settings), the version and
  checksum the outlet's feed last stated and its *position*, a per-outlet counter that is
  the pull cursor (hub.ingest.feed).

Every table is tenant-owned and gets Row-Level Security on PostgreSQL (migration 0200_staff).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, TenantOwned, UTCDateTime, utcnow
from shared.ids import new_id

__all__ = ["STAFF_TENANT_TABLES", "OutletFeedEntry", "OutletPinSalt", "StaffMember", "StaffOutlet",
           "StaffPepper", "StaffPinVerifier"]

IdStr = String(64)
STAFF_TENANT_TABLES = ("staff", "staff_outlets", "staff_peppers", "outlet_feed", "outlet_pin_salts",
                       "staff_pin_verifiers")


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
    pin_sealed: Mapped[str] = mapped_column(String(200), default="")  # "" = no PIN (reset it)
    pin_version: Mapped[int] = mapped_column(Integer, default=0)
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


class OutletPinSalt(TenantOwned, Base):
    __tablename__ = "outlet_pin_salts"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))  # hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffPinVerifier(TenantOwned, Base):
    __tablename__ = "staff_pin_verifiers"
    staff_id: Mapped[str] = mapped_column(IdStr, ForeignKey("staff.id", ondelete="CASCADE"),
                                          primary_key=True)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True,
                                           index=True)
    # what it was computed from: stale (recomputed) when any of these changes
    pin_version: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(64))
    kdf: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutletFeedEntry(TenantOwned, Base):
    __tablename__ = "outlet_feed"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
