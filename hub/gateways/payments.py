"""The payments report and the reconciliation of what the gateways confirmed against what
the outlets recorded.

**Report** (``payments_report``, UTC days of the attempts' ``created_at``): from the synced
payment attempts (``hub_payment_attempts``), per method (qris, ewallet) and per gateway
(midtrans, xendit, static): attempts, paid (count, amount), pending, expired, cancelled,
failed, late (paid after the order ended: flagged for refund), and the success rate
``paid / (paid + expired + cancelled + failed)`` (pending ones are not decided yet; ``null``
when nothing is decided). Refunds by method: the gateway-confirmed refunds
(``gateway_notifications`` with status "refunded") and, once the hub stores the outlets'
refunds (a ``refunds`` table with ``method`` and ``amount``), those too.

**Reconciliation** (``reconcile``, one outlet, one UTC day): every difference is listed,
matched by gateway order id (the attempt id) whatever day its counterpart fell on:

* ``recorded_not_confirmed``: an attempt the outlet recorded as paid through a gateway
  with no "paid" notification from that gateway;
* ``confirmed_not_recorded``: a verified "paid" notification (amount as the attempt's, or
  no attempt synced) that no attempt recorded as paid;
* ``amount_mismatch``: a "paid" notification whose amount is not its attempt's;
* ``unverified_static``: a static-QR payment the cashier confirmed by eye (gateway
  "static"): no gateway confirms those, head office checks them against the merchant's
  statement.

The scheduled job ``reconcile_job`` runs it for the previous UTC day for every outlet with
attempts or notifications that day and keeps the result (``payment_reconciliations``);
``GET /api/v1/reports/payments/reconciliation`` runs it on demand. Neither fake gateway nor
Midtrans offers a transaction list to compare with, so the webhooks received are what the
gateway confirmed (the box's status polls reach the hub as the attempts themselves).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.gateways.models import GatewayNotification, HubPaymentAttempt, PaymentReconciliation
from hub.identity import Principal, require, require_outlet
from hub.models import Base, Outlet
from hub.settings import HubSettings
from shared.errors import BadRequest, NotFound

__all__ = ["MAX_DAYS", "RECONCILE_INTERVAL_SECONDS", "parse_day", "parse_period",
           "payments_report", "reconcile", "reconcile_job", "reconcile_on_demand"]

MAX_DAYS = 366
RECONCILE_INTERVAL_SECONDS = 24 * 3600
_DECIDED = ("paid", "expired", "cancelled", "failed")
_GATEWAYS = ("midtrans", "xendit")
_MAX_LISTED = 500  # differences listed per outlet and day (the count is always exact)


def parse_day(raw: str | None) -> date:
    if not raw:
        raise BadRequest("'day' is required (YYYY-MM-DD, UTC)", {"day": raw})
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("'day' is not a date (YYYY-MM-DD)", {"day": raw}) from None


def parse_period(day_from: str | None, day_to: str | None) -> tuple[date, date]:
    if not day_from or not day_to:
        raise BadRequest("'from' and 'to' are required (YYYY-MM-DD, UTC days)",
                         {"from": day_from, "to": day_to})
    start, end = parse_day(day_from), parse_day(day_to)
    if start > end:
        raise BadRequest("'from' is after 'to'", {"from": day_from, "to": day_to})
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"a report covers at most {MAX_DAYS} days",
                         {"from": day_from, "to": day_to})
    return start, end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC))


async def _scope(session: AsyncSession, principal: Principal, outlet_id: str | None) -> list[str]:
    """The outlets the figures cover: the one asked for, or all the caller sees."""
    require(principal, "reports:read")
    if outlet_id:
        if await session.get(Outlet, outlet_id) is None:
            raise NotFound("outlet not found", details={"id": outlet_id})
        require_outlet(principal, outlet_id)
        return [outlet_id]
    ids = await session.scalars(select(Outlet.id).order_by(Outlet.id))
    return [oid for oid in ids if principal.sees_outlet(oid)]


def _figures() -> dict[str, Any]:
    return {"attempts": 0, "paid": 0, "paid_amount": 0, "pending": 0, "expired": 0,
            "cancelled": 0, "failed": 0, "late": 0, "success_rate": None}


def _rate(row: dict[str, Any]) -> None:
    decided = sum(row[s] for s in _DECIDED)
    row["success_rate"] = round(row["paid"] / decided, 4) if decided else None


async def payments_report(session: AsyncSession, principal: Principal, start: date, end: date,
                          outlet_id: str | None) -> dict[str, Any]:
    outlets = await _scope(session, principal, outlet_id)
    low, high = _bounds(start, end)
    found = (await session.execute(
        select(HubPaymentAttempt.method, HubPaymentAttempt.gateway, HubPaymentAttempt.status,
               func.count(), func.coalesce(func.sum(HubPaymentAttempt.amount), 0),
               func.sum(case((HubPaymentAttempt.late, 1), else_=0)))
        .where(HubPaymentAttempt.outlet_id.in_(outlets), HubPaymentAttempt.created_at >= low,
               HubPaymentAttempt.created_at < high)
        .group_by(HubPaymentAttempt.method, HubPaymentAttempt.gateway,
                  HubPaymentAttempt.status))).all()
    total, by_method, by_gateway = _figures(), {}, {}
    for method, gateway, status, count, amount, late in found:
        for row in (total, by_method.setdefault(method, _figures()),
                    by_gateway.setdefault(gateway, _figures())):
            row["attempts"] += count
            if status in row:
                row[status] += count
            if status == "paid":
                row["paid_amount"] += int(amount)
            row["late"] += int(late or 0)
    for row in (total, *by_method.values(), *by_gateway.values()):
        _rate(row)
    return {"from": start.isoformat(), "to": end.isoformat(), "outlet_id": outlet_id,
            "outlet_ids": outlets, "totals": total,
            "by_method": [{"method": k, **v} for k, v in sorted(by_method.items())],
            "by_gateway": [{"gateway": k, **v} for k, v in sorted(by_gateway.items())],
            "refunds": await _refunds(session, outlets, low, high)}


async def _refunds(session: AsyncSession, outlets: list[str], low: datetime,
                   high: datetime) -> dict[str, Any]:
    confirmed = (await session.execute(
        select(GatewayNotification.gateway, func.count(),
               func.coalesce(func.sum(GatewayNotification.gross_amount), 0))
        .where(GatewayNotification.outlet_id.in_(outlets), GatewayNotification.status == "refunded",
               GatewayNotification.received_at >= low, GatewayNotification.received_at < high)
        .group_by(GatewayNotification.gateway))).all()
    recorded: list[dict[str, Any]] = []
    table = Base.metadata.tables.get("refunds")
    if table is not None and {"method", "amount", "outlet_id", "created_at"} <= set(table.c.keys()):
        rows = (await session.execute(
            select(table.c.method, func.count(), func.coalesce(func.sum(table.c.amount), 0))
            .where(table.c.outlet_id.in_(outlets), table.c.created_at >= low,
                   table.c.created_at < high).group_by(table.c.method))).all()
        recorded = [{"method": m, "count": c, "amount": int(a)} for m, c, a in rows]
    return {"by_method": recorded,
            "gateway_confirmed": [{"gateway": g, "count": c, "amount": int(a)}
                                  for g, c, a in confirmed]}


# ---------------------------------------------------------------- reconciliation


async def reconcile(session: AsyncSession, outlet_id: str, day: date) -> dict[str, Any]:
    """The differences of one outlet on one UTC day (the module docstring lists them)."""
    low, high = _bounds(day, day)
    attempts = list(await session.scalars(select(HubPaymentAttempt).where(
        HubPaymentAttempt.outlet_id == outlet_id, HubPaymentAttempt.created_at >= low,
        HubPaymentAttempt.created_at < high)))
    notices = list(await session.scalars(select(GatewayNotification).where(
        GatewayNotification.outlet_id == outlet_id, GatewayNotification.status == "paid",
        GatewayNotification.received_at >= low, GatewayNotification.received_at < high)))
    # counterparts on any day, matched by gateway order id
    order_ids = {a.gateway_order_id for a in attempts} | {n.gateway_order_id for n in notices}
    all_attempts = {a.gateway_order_id: a for a in attempts}
    all_paid: dict[str, GatewayNotification] = {n.gateway_order_id: n for n in notices}
    if order_ids:
        for a in await session.scalars(select(HubPaymentAttempt).where(
                HubPaymentAttempt.gateway_order_id.in_(order_ids),
                HubPaymentAttempt.outlet_id == outlet_id)):
            all_attempts.setdefault(a.gateway_order_id, a)
        for n in await session.scalars(select(GatewayNotification).where(
                GatewayNotification.gateway_order_id.in_(order_ids),
                GatewayNotification.status == "paid",
                or_(GatewayNotification.outlet_id == outlet_id,
                    GatewayNotification.outlet_id == ""))):
            all_paid.setdefault(n.gateway_order_id, n)
    differences: list[dict[str, Any]] = []

    def add(kind: str, a: HubPaymentAttempt | None, n: GatewayNotification | None) -> None:
        differences.append({
            "kind": kind, "gateway": (n.gateway if n else a.gateway if a else ""),
            "gateway_order_id": (n.gateway_order_id if n else a.gateway_order_id if a else ""),
            "attempt_id": a.id if a else None, "order_id": a.order_id if a else None,
            "recorded_amount": a.amount if a else None,
            "confirmed_amount": n.gross_amount if n else None,
            "attempt_status": a.status if a else None,
            "transaction_id": n.transaction_id if n else None})

    recorded = confirmed = 0
    for a in attempts:
        if a.status != "paid":
            continue
        recorded += a.amount
        n = all_paid.get(a.gateway_order_id)
        if a.gateway == "static":
            add("unverified_static", a, None)
        elif a.gateway in _GATEWAYS and n is None:
            add("recorded_not_confirmed", a, None)
    for n in notices:
        confirmed += n.gross_amount
        a = all_attempts.get(n.gateway_order_id)
        if a is not None and a.amount != n.gross_amount or n.flag == "amount_mismatch":
            add("amount_mismatch", a, n)
        elif a is None or a.status != "paid":
            add("confirmed_not_recorded", a, n)
    counts: dict[str, int] = {}
    for d in differences:
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    return {"outlet_id": outlet_id, "day": day.isoformat(),
            "recorded": {"count": sum(1 for a in attempts if a.status == "paid"),
                         "amount": recorded},
            "confirmed": {"count": len(notices), "amount": confirmed},
            "counts": counts, "differences": differences[:_MAX_LISTED],
            "truncated": len(differences) > _MAX_LISTED}


async def reconcile_on_demand(db: Database, principal: Principal, raw_day: str | None,
                              outlet_id: str | None) -> dict[str, Any]:
    """Run the reconciliation now for one outlet or every outlet the caller sees."""
    async with db.tenant(principal.tenant_id) as session:  # the token is checked first
        day = parse_day(raw_day)
        outlets = await _scope(session, principal, outlet_id)
        results = [await reconcile(session, oid, day) for oid in outlets]
        stored = {row.outlet_id: row.created_at for row in await session.scalars(
            select(PaymentReconciliation).where(PaymentReconciliation.day == day,
                                                PaymentReconciliation.outlet_id.in_(outlets)))}
    for result in results:
        at = stored.get(result["outlet_id"])
        result["last_run_at"] = at.isoformat() if at else None
    return {"day": day.isoformat(), "outlet_id": outlet_id,
            "differences": sum(len(r["differences"]) for r in results),
            "outlets": [r for r in results if r["recorded"]["count"] or r["confirmed"]["count"]
                        or r["differences"]]}


async def reconcile_job(session: AsyncSession, settings: HubSettings,
                        now: datetime | None = None) -> dict[str, Any]:
    """Scheduled daily (system session): yesterday's reconciliation of every outlet that had
    attempts or notifications, stored per (outlet, day)."""
    day = ((now or datetime.now(UTC)) - timedelta(days=1)).date()
    low, high = _bounds(day, day)
    pairs = set((await session.execute(
        select(HubPaymentAttempt.tenant_id, HubPaymentAttempt.outlet_id).distinct().where(
            HubPaymentAttempt.created_at >= low, HubPaymentAttempt.created_at < high))).all())
    pairs |= set((await session.execute(
        select(GatewayNotification.tenant_id, GatewayNotification.outlet_id).distinct().where(
            GatewayNotification.received_at >= low, GatewayNotification.received_at < high,
            GatewayNotification.outlet_id != ""))).all())
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    differences = 0
    for tenant_id, outlet_id in sorted(pairs):
        result = await reconcile(session, outlet_id, day)
        count = sum(result["counts"].values())
        differences += count
        values = {"tenant_id": tenant_id, "outlet_id": outlet_id, "day": day,
                  "differences": count, "result": result, "created_at": datetime.now(UTC)}
        await session.execute(insert(PaymentReconciliation).values(**values).on_conflict_do_update(
            index_elements=["outlet_id", "day"],
            set_={"differences": count, "result": result, "created_at": values["created_at"]}))
    return {"day": day.isoformat(), "outlets": len(pairs), "differences": differences}
