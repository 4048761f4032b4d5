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

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.gateways import statements
from hub.gateways.credentials import effective_credential, secret_of
from hub.gateways.models import (
    GatewayCredential,
    GatewayNotification,
    HubPaymentAttempt,
    PaymentReconciliation,
)
from hub.gateways.statements import GatewayPayment
from hub.gateways.vault import CredentialVault
from hub.identity import Principal, require, require_outlet
from hub.models import Base, Outlet
from hub.settings import HubSettings, resolved_pin_key
from shared.errors import BadRequest, NotFound

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_DAYS", "RECONCILE_INTERVAL_SECONDS", "Evidence", "gather_evidence", "parse_day",
           "parse_period", "payments_report", "reconcile", "reconcile_job", "reconcile_on_demand"]

MAX_DAYS = 366
RECONCILE_INTERVAL_SECONDS = 3600  # yesterday and today, every hour
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
               GatewayNotification.received_at >= low, GatewayNotification.received_at < high,
               # Midtrans' charge-level row carries the charge's amount; each refund has its own
               ~((GatewayNotification.gateway == "midtrans")
                 & GatewayNotification.gateway_status.in_(("refund", "partial_refund"))))
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


@dataclass
class Evidence:
    """What the outlet's gateway itself says (``hub.gateways.statements``), for one day."""

    statement: dict[str, Any]  # the reading's summary (gateway, status, payments, error)
    confirmed: dict[str, GatewayPayment] = field(default_factory=dict)  # attempt id ->
    static: dict[str, GatewayPayment] = field(default_factory=dict)  # static attempt id ->
    unclaimed: list[GatewayPayment] = field(default_factory=list)
    list_read: bool = False  # the whole list was read: an unmatched static payment is a difference


async def _served(session: AsyncSession, credential: GatewayCredential) -> list[str]:
    """The outlets a credential pays for: its own outlet, or its brand's without their own."""
    if credential.outlet_id:
        return [credential.outlet_id]
    own = select(GatewayCredential.outlet_id).where(GatewayCredential.outlet_id.is_not(None),
                                                    GatewayCredential.tenant_id == credential.tenant_id)
    return list(await session.scalars(select(Outlet.id).where(
        Outlet.brand_id == credential.brand_id, Outlet.tenant_id == credential.tenant_id,
        Outlet.id.not_in(own))))


async def gather_evidence(session: AsyncSession, vault: CredentialVault, outlet_ids: list[str],
                          day: date, client: httpx.AsyncClient | None = None
                          ) -> tuple[dict[str, Evidence], list[dict[str, Any]]]:
    """Read the gateways of these outlets for ``day`` (one reading per credential) and match
    it to the attempts: evidence per outlet, and the money a brand-wide credential took that
    no outlet recorded (it cannot be put under one outlet)."""
    credentials: dict[str, GatewayCredential] = {}
    for oid in outlet_ids:
        outlet = await session.get(Outlet, oid)
        credential = await effective_credential(session, outlet) if outlet is not None else None
        if credential is not None and credential.provider in _GATEWAYS and credential.api_base_url:
            credentials.setdefault(credential.id, credential)
    evidence: dict[str, Evidence] = {}
    leftovers: list[dict[str, Any]] = []
    if not credentials:
        return evidence, leftovers
    owned = client is None
    if client is None:
        # httpx (with its CLI's click and rich, ~0.1 s) loads when a gateway is read, not at
        # every hub start
        import httpx

        client = httpx.AsyncClient(timeout=statements.TIMEOUT)
    try:
        for credential in credentials.values():
            served = await _served(session, credential)
            matched, statement = await _read_one(session, vault, client, credential, served, day)
            summary = statement.summary()
            for oid in served:
                evidence[oid] = Evidence(statement=summary, list_read=statement.status == "read"
                                         and credential.provider == "xendit")
            ids = {a.id: a.outlet_id for a in await session.scalars(select(HubPaymentAttempt).where(
                HubPaymentAttempt.id.in_(list(matched.confirmed) + list(matched.static))))}
            for aid, payment in matched.confirmed.items():
                evidence[ids[aid]].confirmed[aid] = payment
            for aid, payment in matched.static.items():
                evidence[ids[aid]].static[aid] = payment
            if credential.outlet_id:
                evidence[credential.outlet_id].unclaimed = matched.unclaimed
            elif matched.unclaimed:
                leftovers.append({"brand_id": credential.brand_id, "gateway": credential.provider,
                                  "payments": matched.unclaimed})
    finally:
        if owned:
            await client.aclose()
    return evidence, leftovers


async def _read_one(session: AsyncSession, vault: CredentialVault, client: httpx.AsyncClient,
                    credential: GatewayCredential, served: list[str], day: date
                    ) -> tuple[statements.Matched, statements.Statement]:
    secret = secret_of(vault, credential)
    low, high = statements.day_window(day)
    in_day = (HubPaymentAttempt.tenant_id == credential.tenant_id,
              HubPaymentAttempt.outlet_id.in_(served),
              HubPaymentAttempt.created_at >= low, HubPaymentAttempt.created_at < high)
    if not secret:
        statement = statements.Statement(credential.id, credential.provider, "unavailable",
                                         error="the credential's key does not open")
    elif credential.provider == "xendit":
        statement = await statements.xendit_payments(client, credential, secret, day)
    else:  # Midtrans: the status of each recorded payment no notification confirmed
        confirmed = select(GatewayNotification.gateway_order_id).where(
            GatewayNotification.tenant_id == credential.tenant_id,
            GatewayNotification.status == "paid", GatewayNotification.gateway == "midtrans")
        order_ids = list(await session.scalars(select(HubPaymentAttempt.gateway_order_id).where(
            *in_day, HubPaymentAttempt.gateway == "midtrans", HubPaymentAttempt.status == "paid",
            HubPaymentAttempt.gateway_order_id.not_in(confirmed))
            .order_by(HubPaymentAttempt.created_at).limit(statements.MAX_STATUS_CHECKS + 1)))
        statement = await statements.midtrans_statuses(client, credential, secret, order_ids)
    refs = list({p.reference_id for p in statement.payments})
    attempts, elsewhere = [], set()
    for i in range(0, len(refs), 500):
        for a in await session.scalars(select(HubPaymentAttempt).where(
                HubPaymentAttempt.tenant_id == credential.tenant_id,
                HubPaymentAttempt.gateway_order_id.in_(refs[i:i + 500]))):
            if a.outlet_id in served and a.gateway == credential.provider:
                attempts.append(a)
            else:
                elsewhere.add(a.gateway_order_id)
    static = list(await session.scalars(select(HubPaymentAttempt).where(
        *in_day, HubPaymentAttempt.gateway == "static", HubPaymentAttempt.status == "paid")))
    return statements.match(statement, attempts, static, elsewhere, day), statement


async def reconcile(session: AsyncSession, outlet_id: str, day: date,
                    evidence: Evidence | None = None) -> dict[str, Any]:
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
    seen = evidence or Evidence(statement={})
    differences: list[dict[str, Any]] = []

    def add(kind: str, a: HubPaymentAttempt | None, n: GatewayNotification | None,
            p: GatewayPayment | None = None) -> None:
        differences.append({
            "kind": kind, "gateway": (n.gateway if n else p.gateway if p else a.gateway if a else ""),
            "gateway_order_id": (n.gateway_order_id if n else p.reference_id if p
                                 else a.gateway_order_id if a else ""),
            "attempt_id": a.id if a else None, "order_id": a.order_id if a else None,
            "recorded_amount": a.amount if a else None,
            "confirmed_amount": n.gross_amount if n else p.amount if p else None,
            "attempt_status": a.status if a else None,
            "transaction_id": n.transaction_id if n else p.payment_id if p else None})

    recorded = confirmed = 0
    verified: list[dict[str, Any]] = []
    for a in attempts:
        if a.status != "paid":
            continue
        recorded += a.amount
        n = all_paid.get(a.gateway_order_id)
        listed = seen.confirmed.get(a.id)
        if a.gateway == "static":
            match = seen.static.get(a.id)
            if match is not None:
                verified.append({"attempt_id": a.id, "order_id": a.order_id, "amount": a.amount,
                                 "gateway": match.gateway, "transaction_id": match.payment_id,
                                 "paid_at": match.at.isoformat()})
            else:
                add("static_unmatched" if seen.list_read else "unverified_static", a, None)
        elif a.gateway in _GATEWAYS and n is None:
            if listed is None:
                add("recorded_not_confirmed", a, None)
            elif listed.amount != a.amount:
                add("amount_mismatch", a, None, listed)
    matched_ids = {p.payment_id for p in seen.static.values()}
    noticed = set()
    for n in notices:
        noticed.add(n.transaction_id)
        if n.transaction_id and n.transaction_id in matched_ids:
            continue  # a static-QR payment, matched to what the cashier confirmed
        confirmed += n.gross_amount
        a = all_attempts.get(n.gateway_order_id)
        if a is not None and a.amount != n.gross_amount or n.flag == "amount_mismatch":
            add("amount_mismatch", a, n)
        elif a is None or a.status != "paid":
            add("confirmed_not_recorded", a, n)
    for p in seen.unclaimed:  # money the gateway took that no outlet recorded
        if p.payment_id not in noticed:
            add("confirmed_not_recorded", None, None, p)
    counts: dict[str, int] = {}
    for d in differences:
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    return {"outlet_id": outlet_id, "day": day.isoformat(),
            "recorded": {"count": sum(1 for a in attempts if a.status == "paid"),
                         "amount": recorded},
            "confirmed": {"count": len(notices), "amount": confirmed},
            "gateway_list": seen.statement or None, "static_verified": verified[:_MAX_LISTED],
            "counts": counts, "differences": differences[:_MAX_LISTED],
            "truncated": len(differences) > _MAX_LISTED}


def _brand_differences(leftovers: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    """Money a brand-wide credential's gateway took that none of its outlets recorded."""
    return [{"outlet_id": None, "brand_id": left["brand_id"], "day": day.isoformat(),
             "recorded": {"count": 0, "amount": 0},
             "confirmed": {"count": len(left["payments"]),
                           "amount": sum(p.amount for p in left["payments"])},
             "counts": {"confirmed_not_recorded": len(left["payments"])},
             "differences": [{"kind": "confirmed_not_recorded", "gateway": p.gateway,
                              "gateway_order_id": p.reference_id, "attempt_id": None,
                              "order_id": None, "recorded_amount": None,
                              "confirmed_amount": p.amount, "attempt_status": None,
                              "transaction_id": p.payment_id}
                             for p in left["payments"][:_MAX_LISTED]],
             "static_verified": [], "gateway_list": None,
             "truncated": len(left["payments"]) > _MAX_LISTED}
            for left in leftovers]


async def reconcile_on_demand(db: Database, principal: Principal, raw_day: str | None,
                              outlet_id: str | None, *,
                              vault: CredentialVault | None = None) -> dict[str, Any]:
    """Run the reconciliation now for one outlet or every outlet the caller sees, reading
    the gateways' own records first when ``vault`` is given."""
    async with db.tenant(principal.tenant_id) as session:  # the token is checked first
        day = parse_day(raw_day)
        outlets = await _scope(session, principal, outlet_id)
        evidence: dict[str, Evidence] = {}
        leftovers: list[dict[str, Any]] = []
        if vault is not None:
            evidence, leftovers = await gather_evidence(session, vault, outlets, day)
        results = [await reconcile(session, oid, day, evidence.get(oid)) for oid in outlets]
        stored = {row.outlet_id: row.created_at for row in await session.scalars(
            select(PaymentReconciliation).where(PaymentReconciliation.day == day,
                                                PaymentReconciliation.outlet_id.in_(outlets)))}
    for result in results:
        at = stored.get(result["outlet_id"])
        result["last_run_at"] = at.isoformat() if at else None
    if not outlet_id:
        results += _brand_differences(leftovers, day)
    return {"day": day.isoformat(), "outlet_id": outlet_id,
            "differences": sum(len(r["differences"]) for r in results),
            "outlets": [r for r in results if r["recorded"]["count"] or r["confirmed"]["count"]
                        or r["differences"] or r["static_verified"]]}


async def reconcile_job(session: AsyncSession, settings: HubSettings,
                        now: datetime | None = None) -> dict[str, Any]:
    """Scheduled hourly (system session): the previous and the current UTC day of every
    outlet that had attempts or notifications, each after reading its gateway's own record
    (a box back online after a day offline has its static-QR payments checked within the
    hour), stored per (outlet, day)."""
    at = now or datetime.now(UTC)
    vault = CredentialVault(resolved_pin_key(settings))
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    differences = outlets = 0
    days = [(at - timedelta(days=1)).date(), at.date()]
    for day in days:
        low, high = _bounds(day, day)
        pairs = set((await session.execute(
            select(HubPaymentAttempt.tenant_id, HubPaymentAttempt.outlet_id).distinct().where(
                HubPaymentAttempt.created_at >= low, HubPaymentAttempt.created_at < high))).all())
        pairs |= set((await session.execute(
            select(GatewayNotification.tenant_id, GatewayNotification.outlet_id).distinct().where(
                GatewayNotification.received_at >= low, GatewayNotification.received_at < high,
                GatewayNotification.outlet_id != ""))).all())
        evidence, _ = await gather_evidence(session, vault, sorted(o for _, o in pairs), day)
        outlets += len(pairs)
        for tenant_id, outlet_id in sorted(pairs):
            result = await reconcile(session, outlet_id, day, evidence.get(outlet_id))
            count = sum(result["counts"].values())
            differences += count
            values = {"tenant_id": tenant_id, "outlet_id": outlet_id, "day": day,
                      "differences": count, "result": result, "created_at": datetime.now(UTC)}
            await session.execute(insert(PaymentReconciliation).values(**values).on_conflict_do_update(
                index_elements=["outlet_id", "day"],
                set_={"differences": count, "result": result, "created_at": values["created_at"]}))
    return {"days": [d.isoformat() for d in days], "outlets": outlets, "differences": differences}
