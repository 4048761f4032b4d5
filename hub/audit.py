"""The audit log: every administrative change, who made it, when, and the record before/after.

Services call ``record(...)`` inside the same transaction as the change, so the change and
its audit entry commit (or roll back) together. The table is append-only: on PostgreSQL the
hub's role has no UPDATE or DELETE privilege on it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity import Principal
from hub.models import AuditEntry

__all__ = ["REDACTED_FIELDS", "list_entries", "record", "snapshot"]

# Never copied into the log.
REDACTED_FIELDS = frozenset({"password_hash", "token_digest", "pin_hash", "pin_lookup", "pin_sealed",
                             "pepper"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def snapshot(row: Any) -> dict[str, Any]:
    """A JSON-safe copy of a model row's columns (secrets left out)."""
    mapper = inspect(row).mapper
    return {attr.key: _jsonable(getattr(row, attr.key)) for attr in mapper.column_attrs
            if attr.key not in REDACTED_FIELDS}


def record(session: AsyncSession, principal: Principal | None, action: str, entity_type: str,
           entity_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
           tenant_id: str | None = None, ip: str = "", actor: str = "cli") -> AuditEntry:
    """Add an audit entry to the current transaction. Without a principal, ``actor`` names
    who acted: "cli" (the operator's ``pos-hub`` command) or "device:<id>" (an outlet box)."""
    entry = AuditEntry(
        tenant_id=tenant_id or (principal.tenant_id if principal else None),
        actor_id=principal.user_id if principal else None,
        actor_email=principal.email if principal else actor[:320],
        action=action, entity_type=entity_type, entity_id=entity_id,
        before=before, after=after, ip=(ip or (principal.ip if principal else ""))[:64],
    )
    session.add(entry)
    return entry


async def list_entries(session: AsyncSession, *, entity_type: str | None = None,
                       entity_id: str | None = None, limit: int = 100,
                       before_id: str | None = None) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages backwards (ids are time-ordered UUIDv7)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(await session.scalars(stmt))
