"""Monthly partitions of the hub's fact tables on PostgreSQL: keeping months ahead, retention.

Migration 0500 partitions ``orders`` and ``order_lines`` by business day, ``payments`` by
``created_at``, ``kitchen_events`` by ``at`` and ``sync_journal`` by ``received_at``
(``PARTITIONED``), one partition per UTC month in the schema ``hub_partitions``, plus the
table as it was before the migration (``<table>_legacy``, every key up to its bound) and a
default partition for keys outside every range (an edge clock far off).

This module decides *which* partitions to add or drop; the DDL itself runs in the database
functions ``pos_hub_add_partition`` / ``pos_hub_drop_partition`` (SECURITY DEFINER, owned by
the schema owner, migration 0500), so the scheduled job works under the system role, which
owns nothing and cannot alter a table.

* ``ensure_partitions``: every month from the current one to ``months_ahead`` after it has a
  partition (rows of that month caught by the default partition move into it).
* ``drop_old_partitions``: with a retention of ``keep_months`` (0 = keep everything), every
  partition whose months all lie before the first day of the month ``keep_months`` before
  the current one is dropped — DETACH then DROP, no DELETE. The journal's quarantined entries
  of a dropped month are kept in its default partition.

``maintain`` is the scheduled job (``hub.scheduler``); ``pos-hub partitions`` the operators'
command (``hub.cli``). On SQLite (no partitions) both report ``partitioned: false``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import utcnow
from hub.settings import HubSettings

__all__ = ["PARTITIONED", "SCHEMA", "Partition", "drop_old_partitions", "ensure_partitions",
           "is_partitioned", "list_partitions", "maintain", "month_start", "plan_additions",
           "plan_drops"]

SCHEMA = "hub_partitions"
# Partitioned table -> its partition key (what a report or retention prunes by).
PARTITIONED: dict[str, str] = {"orders": "business_day", "order_lines": "business_day",
                               "payments": "created_at", "kitchen_events": "at",
                               "sync_journal": "received_at"}
# The maintenance statements wait this long for a lock, then fail: the job retries next slot
# rather than queue the ingest behind a DETACH.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Partition:
    """One partition: keys from ``start`` (None = no lower bound) to ``end`` (excluded;
    None = none), both UTC month starts; ``default`` catches what no range holds."""

    table: str
    name: str
    start: date | None
    end: date | None
    default: bool = False

    def covers(self, month: date) -> bool:
        return not self.default and (self.start is None or self.start <= month) and (
            self.end is None or month < self.end)


def month_start(day: date, months: int = 0) -> date:
    """The first day of ``day``'s month, ``months`` months later (or earlier)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def is_partitioned(session: AsyncSession) -> bool:
    """True on a PostgreSQL hub migrated to 0500 (SQLite has no partitions)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = await session.scalar(text(
        "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)"),
        {"tables": list(PARTITIONED)})
    return found == len(PARTITIONED)


_BOUND = re.compile(r"FROM \((?P<start>MINVALUE|'[^']*')\) TO \((?P<end>MAXVALUE|'[^']*')\)")


def _bound_month(literal: str) -> date | None:
    if literal in ("MINVALUE", "MAXVALUE"):
        return None
    value = literal.strip("'")
    if len(value) == 10:
        return date.fromisoformat(value)
    # A timestamptz bound is shown in the session's time zone: its UTC date is the month.
    return datetime.fromisoformat(value).astimezone(UTC).date()


async def list_partitions(session: AsyncSession) -> list[Partition]:
    """Every partition of the partitioned tables, by table and start."""
    rows = await session.execute(text(
        "SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid)"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent"
        " WHERE p.relnamespace = 'public'::regnamespace AND p.relname = ANY(:tables)"),
        {"tables": list(PARTITIONED)})
    found = []
    for table, name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(table, name, None, None, default=True))
            continue
        match = _BOUND.search(bound)
        if match is None:
            raise ValueError(f"unexpected bound of {name}: {bound}")
        found.append(Partition(table, name, _bound_month(match["start"]),
                               _bound_month(match["end"])))
    return sorted(found, key=lambda p: (p.table, p.default, p.start or date.min))


def plan_additions(partitions: list[Partition], today: date,
                   months_ahead: int) -> list[tuple[str, date]]:
    """(table, month) of every month from ``today``'s to ``months_ahead`` later that no
    partition covers."""
    months = [month_start(today, n) for n in range(max(0, months_ahead) + 1)]
    return [(table, month) for table in PARTITIONED for month in months
            if not any(p.table == table and p.covers(month) for p in partitions)]


def plan_drops(partitions: list[Partition], today: date, keep_months: int) -> list[Partition]:
    """The partitions entirely before the retention's cutoff (none when ``keep_months`` is
    0): the current month and the ``keep_months`` before it are kept whole."""
    if keep_months <= 0:
        return []
    cutoff = month_start(today, -keep_months)
    return [p for p in partitions
            if not p.default and p.end is not None and p.end <= cutoff]


async def _lock_timeout(session: AsyncSession) -> None:
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


async def ensure_partitions(session: AsyncSession, months_ahead: int,
                            today: date | None = None) -> list[str]:
    """Add the missing monthly partitions up to ``months_ahead``; their names."""
    if not await is_partitioned(session):
        return []
    today = today or utcnow().date()
    await _lock_timeout(session)
    added = []
    for table, month in plan_additions(await list_partitions(session), today, months_ahead):
        if await session.scalar(text("SELECT pos_hub_add_partition(:table, :month)"),
                                {"table": table, "month": month}):
            added.append(f"{table}_p{month:%Y%m}")
    return added


async def drop_old_partitions(session: AsyncSession, keep_months: int,
                              today: date | None = None) -> dict[str, int]:
    """Drop the partitions past the retention; name -> journal entries kept (quarantined)."""
    if keep_months <= 0 or not await is_partitioned(session):
        return {}
    today = today or utcnow().date()
    await _lock_timeout(session)
    dropped = {}
    for partition in plan_drops(await list_partitions(session), today, keep_months):
        dropped[partition.name] = int(await session.scalar(
            text("SELECT pos_hub_drop_partition(:table, :name)"),
            {"table": partition.table, "name": partition.name}) or 0)
    return dropped


async def maintain(session: AsyncSession, settings: HubSettings) -> dict[str, Any]:
    """The scheduled job: months ahead, then the retention (if one is set)."""
    if not await is_partitioned(session):
        return {"partitioned": False}
    added = await ensure_partitions(session, settings.partition_months_ahead)
    dropped = await drop_old_partitions(session, settings.partition_retention_months)
    return {"partitioned": True, "added": added, "dropped": sorted(dropped),
            "journal_entries_kept": sum(dropped.values())}
