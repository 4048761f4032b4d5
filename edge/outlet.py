"""The outlet this edge serves: identity (id, name, timezone) and outlet settings.

A box set up with ``pos-edge init`` has its own outlet row; a box provisioned from the hub
takes id, name and timezone from its sync identity (``sync_state``), so orders carry the
outlet id the hub knows. Head office's settings for the outlet (name, timezone, kitchen
trigger, business-day start) come down with the pull feed and are applied by
``apply_hub_settings``. Business days are computed in the outlet's local timezone.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Struct

from shared.errors import ValidationFailed
from shared.ids import new_id

__all__ = [
    "KITCHEN_TRIGGERS",
    "OutletInfo",
    "apply_hub_settings",
    "business_day",
    "check_timezone",
    "create_outlet",
    "load_outlet",
    "update_outlet",
]

KITCHEN_TRIGGERS = ("place", "payment")


class OutletInfo(Struct, kw_only=True, frozen=True):
    id: str
    name: str
    timezone: str = "UTC"
    kitchen_trigger: str = "place"  # send to the kitchen when placed, or when fully paid
    business_day_start_hour: int = 0  # e.g. 4: sales until 03:59 count for the previous day
    # head office's discount rules: the reasons allowed ([] = any), and the percentage of the
    # subtotal above which a manager approves (None: every discount needs a manager)
    discount_reasons: tuple[str, ...] = ()
    discount_approval_percent: int | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown timezone {name!r}", details={"timezone": name}) from exc
    return name


def create_outlet(conn: sqlite3.Connection, name: str, timezone: str,
                  kitchen_trigger: str = "place", outlet_id: str | None = None) -> OutletInfo:
    """Create the outlet row (once); an existing row is returned unchanged."""
    existing = conn.execute("SELECT 1 FROM outlet WHERE id = 1").fetchone()
    if existing is None:
        if kitchen_trigger not in KITCHEN_TRIGGERS:
            raise ValidationFailed("kitchen_trigger must be place or payment")
        conn.execute(
            "INSERT INTO outlet (id, outlet_id, name, timezone, kitchen_trigger, created_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            (outlet_id or new_id(), name, check_timezone(timezone), kitchen_trigger,
             datetime.now(UTC).isoformat()))
    return load_outlet(conn)


def update_outlet(conn: sqlite3.Connection, *, name: str | None = None, timezone: str | None = None,
                  kitchen_trigger: str | None = None,
                  business_day_start_hour: int | None = None) -> OutletInfo:
    """Change the local outlet settings; a provisioned box keeps the hub's name and timezone."""
    if conn.execute("SELECT 1 FROM outlet WHERE id = 1").fetchone() is None:
        hub = load_outlet(conn)  # provisioned without init: start a local row from the hub's
        create_outlet(conn, hub.name, hub.timezone, outlet_id=hub.id)
    if kitchen_trigger is not None and kitchen_trigger not in KITCHEN_TRIGGERS:
        raise ValidationFailed("kitchen_trigger must be place or payment",
                               details={"kitchen_trigger": kitchen_trigger})
    if business_day_start_hour is not None and not 0 <= business_day_start_hour <= 23:
        raise ValidationFailed("business_day_start_hour must be 0-23")
    if name is not None and not name.strip():
        raise ValidationFailed("an outlet needs a name")
    changes = {"name": name.strip() if name else None,
               "timezone": check_timezone(timezone) if timezone else None,
               "kitchen_trigger": kitchen_trigger,
               "business_day_start_hour": business_day_start_hour}
    for column, value in changes.items():
        if value is not None:
            conn.execute(f"UPDATE outlet SET {column} = ? WHERE id = 1", (value,))
    return load_outlet(conn)


def apply_hub_settings(conn: sqlite3.Connection, *, name: str, timezone: str,
                       kitchen_trigger: str | None = None,
                       business_day_start_hour: int | None = None,
                       discount_reasons: list[str] | None = None,
                       discount_approval_percent: int | None = None) -> OutletInfo:
    """Apply head office's outlet settings in the caller's transaction (the pull's).

    Name and timezone replace the hub identity kept in ``sync_state`` and the local row; a
    kitchen trigger or business-day start the hub leaves unset (None) keeps the outlet's own.
    The discount rules are head office's alone: they replace the box's as sent.
    """
    conn.execute("UPDATE sync_state SET outlet_name = ?, timezone = ? WHERE id = 1",
                 (name, check_timezone(timezone)))
    updated = update_outlet(conn, name=name, timezone=timezone, kitchen_trigger=kitchen_trigger,
                            business_day_start_hour=business_day_start_hour)
    if discount_approval_percent is not None and not 0 <= discount_approval_percent <= 100:
        discount_approval_percent = None  # out of range: the safe rule (a manager approves)
    conn.execute("UPDATE outlet SET discount_reasons = ?, discount_approval_percent = ?"
                 " WHERE id = 1", (msgspec.json.encode(list(discount_reasons or [])).decode(),
                                   discount_approval_percent))
    return msgspec.structs.replace(updated, discount_reasons=tuple(discount_reasons or ()),
                                   discount_approval_percent=discount_approval_percent)


def load_outlet(conn: sqlite3.Connection) -> OutletInfo:
    """The outlet as it stands: hub identity when provisioned, else the local row."""
    local = conn.execute("SELECT * FROM outlet WHERE id = 1").fetchone()
    hub = conn.execute(
        "SELECT outlet_id, outlet_name, timezone FROM sync_state WHERE id = 1").fetchone()
    if local is None and hub is None:
        raise RuntimeError("this edge has no outlet yet: run `pos-edge init` or `pos-edge provision`")
    trigger = local["kitchen_trigger"] if local else "place"
    start_hour = local["business_day_start_hour"] if local else 0
    reasons = tuple(msgspec.json.decode(local["discount_reasons"])) if local else ()
    approval = local["discount_approval_percent"] if local else None
    if hub is not None:
        return OutletInfo(id=hub["outlet_id"], name=hub["outlet_name"] or (local["name"] if local else ""),
                          timezone=hub["timezone"] or "UTC", kitchen_trigger=trigger,
                          business_day_start_hour=start_hour, discount_reasons=reasons,
                          discount_approval_percent=approval)
    return OutletInfo(id=local["outlet_id"], name=local["name"], timezone=local["timezone"],
                      kitchen_trigger=trigger, business_day_start_hour=start_hour,
                      discount_reasons=reasons, discount_approval_percent=approval)


def business_day(outlet: OutletInfo, now: datetime) -> str:
    """The outlet's business day (YYYY-MM-DD, local time) that ``now`` belongs to."""
    local = now.astimezone(outlet.tz) - timedelta(hours=outlet.business_day_start_hour)
    return local.date().isoformat()
