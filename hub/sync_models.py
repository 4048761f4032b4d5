"""The sync engine's hub tables, on the hub's SQLAlchemy metadata (``hub.models.Base``).

* ``enrollment_codes``: one-time codes a technician gives an outlet box (digest only).
* ``sync_credentials``: an outlet box's sync credential (digest only), revocable.
* ``sync_cursors``: per (outlet, epoch) the highest contiguous seq held and its hash.
* ``sync_journal``: every event received, exactly as sent (body bytes and hashes), so a
  replay is recognised byte for byte and a conflicting payload is caught.
* ``sync_quarantine``: events held in the journal but not applied, with the reason.
* ``sync_alarms``: journal integrity alarms (broken chain, same seq with another payload,
  foreign outlet, sequence reuse after a restore, money that does not add up).

Every table is tenant-owned and gets Row-Level Security on PostgreSQL (migration 0100_sync).
On PostgreSQL ``sync_journal`` is partitioned by month of ``received_at`` (migration 0500,
``hub.partitions``): its primary key there is (outlet_id, epoch, seq, received_at), and what
keeps an entry from being stored twice is the outlet's cursor, read under the outlet's row
lock (``hub.ingest.push``).
A box presenting a code or credential is looked up in a ``db.system()`` session (no tenant is
known yet); everything after that runs in ``db.tenant(tenant_id)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, JsonType, TenantFact, TenantOwned, UTCDateTime, utcnow
from shared.ids import new_id

__all__ = [
    "SYNC_TENANT_TABLES",
    "EnrollmentCode",
    "SyncAlarm",
    "SyncCredential",
    "SyncCursor",
    "SyncJournalEntry",
    "SyncQuarantine",
]

IdStr = String(64)


class EnrollmentCode(TenantOwned, Base):
    __tablename__ = "enrollment_codes"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # digest of the box's device key: the same box may complete a redemption whose reply it lost
    device_key_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    credential_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SyncCredential(TenantOwned, Base):
    __tablename__ = "sync_credentials"
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), index=True)
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    enrollment_code_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    device_key_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hostname: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(IdStr, nullable=True)


class SyncCursor(TenantOwned, Base):
    __tablename__ = "sync_cursors"
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), primary_key=True)
    epoch: Mapped[str] = mapped_column(IdStr, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncJournalEntry(TenantFact, Base):
    __tablename__ = "sync_journal"
    __table_args__ = (Index("ix_sync_journal_tenant_received", "tenant_id", "received_at"),)
    outlet_id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    epoch: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(IdStr)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # edge clock
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # hub clock
    status: Mapped[str] = mapped_column(String(16), default="applied")  # applied | quarantined
    wire_version: Mapped[int] = mapped_column(Integer, default=2)


class SyncQuarantine(TenantOwned, Base):
    __tablename__ = "sync_quarantine"
    __table_args__ = (UniqueConstraint("outlet_id", "epoch", "seq", name="uq_sync_quarantine_event"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"), index=True)
    epoch: Mapped[str] = mapped_column(IdStr)
    seq: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(IdStr)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="")  # "applied on retry" / a note


class SyncAlarm(TenantOwned, Base):
    __tablename__ = "sync_alarms"
    __table_args__ = (Index("ix_sync_alarms_outlet_created", "outlet_id", "created_at"),)
    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    outlet_id: Mapped[str] = mapped_column(IdStr, ForeignKey("outlets.id"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


SYNC_TENANT_TABLES: tuple[str, ...] = (
    "enrollment_codes", "sync_credentials", "sync_cursors", "sync_journal", "sync_quarantine",
    "sync_alarms",
)
