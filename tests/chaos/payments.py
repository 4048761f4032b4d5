"""Payment chaos: QRIS payments through a fake gateway while webhooks, sync and processes fail.

One run (``run_payments``) builds the usual chaos cluster (PostgreSQL, ``pos-hub``, the
fault proxy between edge and hub, a provisioned ``pos-edge``) plus one fake gateway process
(``demo.fake_gateways``) whose webhooks go to the hub's notification endpoint. Head office
sets the outlet's gateway at the hub (``PUT /api/v1/outlets/{id}/payment-gateway``: the
fake's address and key, a static QRIS); the box gets it through its pull feed. Then:

* **the driver** (``PaymentDriver``): cashier workers place an order, ask for a QRIS attempt
  (``Idempotency-Key``, retried after a lost reply), pay it on the fake (its simulate
  action, as the customer's bank app would) and wait until the order is paid at the edge.
  A static QR (the gateway was down when it was asked), or an attempt without a QR (the edge
  was killed between recording it and the gateway's answer), is cancelled and a new one
  asked for; a QR the gateway no longer takes is cancelled too. Nothing is ever paid twice
  by the driver: an attempt is paid on the fake once, and only while the edge shows it open.
* **webhook chaos**: the fake drops (``webhook_drop``) or duplicates (``webhook_duplicate``)
  its notifications, 30 % of them by default;
* **sync faults**: the proxy drops, duplicates, reorders and cuts 30 % of the sync requests;
* **gateway faults and kills** (``PaymentChaos``, a seeded schedule): the gateway answers
  503 to everything for a moment (QRs fall back to static, the poller sees nothing, only
  relayed webhooks confirm), a create's reply is held past the edge's timeout (a lost
  reply: Xendit answers the retry with the same QR, Midtrans refuses it and the attempt
  fails), ``kill -9`` of the edge or the hub, partitions and fault storms of the proxy.

At the end the network heals, the backlog drains, and three ledgers must agree exactly:

* the edge: every ``paid`` attempt has exactly one payment (``payments.attempt_id``), none
  flagged late, none of another attempt;
* the hub: the same attempts ``paid`` in ``hub_payment_attempts``, each with the same
  payment id, and that payment in ``payments`` with the same amount, once;
* the fake gateway: its settled charges (Midtrans ``settlement``, Xendit ``SUCCEEDED``
  payments) are exactly those attempts with those amounts, each settled once, and as many
  as the driver paid;

plus everything the order chaos runs compare (``harness.compare``: orders, payments,
journal, no duplicates, nothing quarantined, no integrity alarm).

    python -m tests.chaos.payments --seeds 1-3 --payments 1000            # by hand
    python -m tests.chaos.payments --seeds 5 --payments 80 --gateway xendit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import random
import re
import shutil
import signal
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

from demo.fake_gateways import FakeGatewayProcess
from demo.launcher import STATIC_QRIS
from shared.schemas import Order
from tests.chaos.cluster import ADMIN_PASSWORD, PINS, Cluster, owner_client
from tests.chaos.driver import OrderDriver
from tests.chaos.harness import ChaosMonkey, RunResult, _workdir, compare, parse_seeds

__all__ = ["PaymentChaos", "PaymentDriver", "PaymentRun", "agreement", "main", "payments_run",
           "run_payments", "start_cluster"]

WEBHOOK_PATHS = {"midtrans": "/api/v1/gateways/midtrans/notification",
                 "xendit": "/api/v1/gateways/xendit/callback"}
# About 30 % of the sync requests meet a fault (the order runs use about 35 %).
_order = msgspec.json.Decoder(Order)
SYNC_FAULTS = {"drop_request": 0.05, "drop_response": 0.08, "duplicate": 0.07, "reorder": 0.04,
               "cut_request": 0.03, "cut_response": 0.03}


# -- the driver ------------------------------------------------------------------------------


class PaymentDriver(OrderDriver):
    """Cashier workers that sell and take every order's money by QRIS on the fake gateway."""

    def __init__(self, base_url: str, tokens: dict[str, str], seed: int, *, payments: int,
                 gateway: FakeGatewayProcess, workers: int = 3, paid_timeout: float = 120.0,
                 on_order: Any = None) -> None:
        super().__init__(base_url, tokens, PINS, seed, orders=payments, workers=workers,
                         pay_rate=0.0, void_rate=0.0, complete_rate=0.0, on_order=on_order)
        self.gateway = gateway
        self.paid_timeout = paid_timeout
        self.counts: Counter[str] = Counter()
        self.paid_on_gateway: dict[str, int] = {}  # attempt id -> amount the customer paid
        self.latencies: list[float] = []  # seconds from the fake's pay to the order paid

    def as_dict(self) -> dict[str, Any]:
        return {**self.stats.as_dict(), "qris": dict(sorted(self.counts.items())),
                "paid_on_gateway": len(self.paid_on_gateway)}

    async def _attempt(self, client: httpx.AsyncClient, order: dict[str, Any],
                       owed: int) -> dict[str, Any] | None:
        """A QRIS attempt for what is owed (None: none now, try again)."""
        key = uuid.uuid4().hex
        path = f"/api/v1/orders/{order['id']}/payment-attempts"
        while True:
            reply = await self._call(client, "POST", path, role="staff:cashier", retry=False,
                                     json={"method": "qris", "amount": owed},
                                     headers={"Idempotency-Key": key})
            if reply is not None:
                break
            self.counts["create_retried"] += 1  # the same key answers the same attempt
        if reply.status_code in (200, 201):
            return reply.json()  # type: ignore[no-any-return]
        body = reply.json().get("error", {}) if reply.headers.get(
            "content-type", "").startswith("application/json") else {}
        self.counts[f"create_{reply.status_code}_{body.get('code', '?')}"] += 1
        pending = (body.get("details") or {}).get("attempt_id")
        if reply.status_code == 409 and pending:  # an open attempt of an earlier try
            await self._cancel(client, pending)
        else:
            await asyncio.sleep(0.3)
        return None

    async def _cancel(self, client: httpx.AsyncClient, attempt_id: str) -> None:
        await self._call(client, "POST", f"/api/v1/payment-attempts/{attempt_id}/cancel",
                         role="staff:cashier")
        self.counts["cancelled"] += 1

    async def _pay_on_gateway(self, fake: httpx.AsyncClient, attempt: dict[str, Any]) -> bool:
        """The customer's bank app pays the QR (the fake's simulate action)."""
        if self.gateway.name == "midtrans":
            path = f"/_fake/v2/{attempt['gateway_order_id']}/pay"
        else:  # the open QR codes page names each by the edge's reference (the attempt id)
            page = (await fake.get("/_fake/")).text
            found = re.search(rf"QRIS {re.escape(attempt['gateway_order_id'])}</td>.*?"
                              r"action='([^']+)'", page)
            if found is None:
                return False
            path = html.unescape(found.group(1))
        answer = await fake.post(path, json={"amount": attempt["amount"]})
        if answer.status_code == 200:
            self.paid_on_gateway[attempt["id"]] = attempt["amount"]
            return True
        self.counts[f"gateway_pay_{answer.status_code}"] += 1
        return False

    async def _take_qris(self, client: httpx.AsyncClient, fake: httpx.AsyncClient,
                         order: dict[str, Any]) -> None:
        give_up = time.monotonic() + self.paid_timeout
        while True:
            if time.monotonic() > give_up:
                raise AssertionError(f"no payable QR for order {order['id']} in "
                                     f"{self.paid_timeout:.0f} s: {dict(self.counts)}")
            attempt = await self._attempt(client, order, order["total"] - order["paid"])
            if attempt is None:
                order = await self._order(client, order["id"])
                if order["paid"] >= order["total"]:
                    return
                continue
            if attempt["status"] == "paid":
                break
            if attempt["status"] != "pending" or attempt.get("mode") == "static" \
                    or not attempt["qr_string"]:
                self.counts[f"retry_{attempt.get('mode')}_{attempt['status']}"] += 1
                if attempt["status"] == "pending":
                    await self._cancel(client, attempt["id"])
                continue
            if await self._pay_on_gateway(fake, attempt):
                break
            await self._cancel(client, attempt["id"])
        started = time.monotonic()
        while time.monotonic() - started < self.paid_timeout:
            order = await self._order(client, order["id"])
            if order["paid"] >= order["total"]:
                self.latencies.append(time.monotonic() - started)
                self.stats.payments += 1
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"order {order['id']} not paid {self.paid_timeout:.0f} s after "
                             f"its QR was paid on the gateway")

    async def _cashier(self, index: int) -> None:
        rng = random.Random(f"{self.seed}:cashier:{index}")
        # A fresh connection for each call to the fake: a kept-alive one may be closed by
        # its server (idle timeout) just as the next pay is sent, a ReadError whose outcome
        # is unknown (a retry could pay twice); seen once with nine workers on a loaded box.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client, \
                httpx.AsyncClient(base_url=self.gateway.base_url, timeout=15,
                                  limits=fresh) as fake:
            while self._claimed < self.target:
                self._claimed += 1
                order = await self._place(client, rng)
                if self.on_order:
                    self.on_order(self.stats.orders)
                await self._take_qris(client, fake, order)

    async def run(self) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            reply = await self._call(client, "GET", "/api/v1/menu", role="cashier")
            assert reply is not None and reply.status_code == 200, reply and reply.text
            self._menu = reply.json()
        await asyncio.gather(*(self._cashier(i) for i in range(self.workers)))
        return self.stats


# -- chaos -----------------------------------------------------------------------------------


class PaymentChaos(ChaosMonkey):
    """The order runs' kills, partitions and storms, plus gateway faults."""

    def __init__(self, cluster: Cluster, gateway: FakeGatewayProcess, seed: int,
                 counts: Counter[str], mean_gap: float, base_rates: dict[str, float]) -> None:
        super().__init__(cluster, seed, counts, mean_gap=mean_gap, base_rates=base_rates)
        self.gateway = gateway

    def trigger(self, action: str) -> None:
        if action == "lost_create_reply":
            # Nothing to wait for: armed at once, it meets the next create even while the
            # chaos thread is busy restarting a process (queued, it could come after selling).
            self.step(action)
        else:
            super().trigger(action)

    def step(self, action: str | None = None) -> None:
        action = action or self.rng.choices(
            ["kill_edge", "kill_hub", "partition", "fault_storm", "gateway_down",
             "lost_create_reply"], weights=[2, 2, 2, 2, 3, 2])[0]
        if action == "gateway_down":
            self.counts[action] += 1
            self.gateway.faults(down=True)
            self.pause(self.rng.uniform(0.5, 2.5))
            self.gateway.faults(down=False)
        elif action == "lost_create_reply":
            self.counts[action] += 1
            # The charge is made; its reply comes after the edge's 5 s timeout.
            self.gateway.faults(delay_creates=1, delay_seconds=6)
        else:
            super().step(action)


# -- the agreement -----------------------------------------------------------------------------


def _edge_payments(db_path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        attempts = {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in conn.execute(
            "SELECT id, status, payment_id, amount, late FROM payment_attempts")}
        by_attempt: dict[str, list[tuple[str, int]]] = {}
        for (snapshot,) in conn.execute("SELECT snapshot FROM orders"):  # payments carry it
            for payment in _order.decode(snapshot).payments:
                if payment.attempt_id is not None:
                    by_attempt.setdefault(payment.attempt_id, []).append((payment.id,
                                                                          payment.amount))
    finally:
        conn.close()
    return {"attempts": attempts, "payments": by_attempt}


def _hub_payments(db_url: str, outlet_id: str) -> dict[str, Any]:
    with psycopg.connect(db_url, autocommit=True) as conn:  # superuser: past RLS
        attempts = {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in conn.execute(
            "SELECT id, status, payment_id, amount, late FROM hub_payment_attempts"
            " WHERE outlet_id = %s", (outlet_id,)).fetchall()}
        payments = Counter()
        amounts: dict[str, int] = {}
        for payment_id, amount in conn.execute(
                "SELECT id, amount FROM payments WHERE outlet_id = %s", (outlet_id,)).fetchall():
            payments[payment_id] += 1
            amounts[payment_id] = amount
        notices = conn.execute(
            "SELECT count(*), count(DISTINCT gateway_order_id) FROM gateway_notifications"
            " WHERE outlet_id = %s AND status = 'paid'", (outlet_id,)).fetchone()
    return {"attempts": attempts, "payment_rows": payments, "amounts": amounts,
            "paid_notices": notices[0], "paid_notice_orders": notices[1]}


def _settled(gateway: str, ledger: dict[str, Any]) -> Counter[tuple[str, int]]:
    """(gateway order id, amount) of every charge the gateway settled, with how many times."""
    if gateway == "midtrans":
        return Counter((c["order_id"], c["amount"]) for c in ledger["charges"]
                       if c["settled_at"] is not None)
    return Counter((p["reference_id"], p["amount"]) for p in ledger["payments"]
                   if p["status"] == "SUCCEEDED")


def agreement(edge_db: Path, db_url: str, outlet_id: str, gateway: str,
              ledger: dict[str, Any], driver_paid: dict[str, int]) -> tuple[list[str], dict[str, Any]]:
    """Problems (empty = the edge, the hub and the gateway agree exactly) and figures."""
    edge, hub = _edge_payments(edge_db), _hub_payments(db_url, outlet_id)
    settled = _settled(gateway, ledger)
    problems: list[str] = []
    edge_paid = {a: v for a, v in edge["attempts"].items() if v[0] == "paid"}
    hub_paid = {a: v for a, v in hub["attempts"].items() if v[0] == "paid"}
    ledger_paid = {order_id: amount for order_id, amount in settled}
    twice = [k for k, n in settled.items() if n > 1]
    if twice:
        problems.append(f"gateway: {len(twice)} charges settled twice, e.g. {twice[:3]}")
    for attempt_id, (_status, payment_id, amount, late) in edge_paid.items():
        recorded = edge["payments"].get(attempt_id, [])
        if len(recorded) != 1 or recorded[0] != (payment_id, amount):
            problems.append(f"edge: attempt {attempt_id} paid with payments {recorded}, "
                            f"expected one {payment_id} of {amount}")
        if late:
            problems.append(f"edge: attempt {attempt_id} flagged late")
        hub_row = hub_paid.get(attempt_id)
        if hub_row is None or hub_row[1:] != (payment_id, amount, late):
            problems.append(f"hub: attempt {attempt_id} is {hub_row}, edge paid it with "
                            f"{payment_id} of {amount}")
        elif hub["payment_rows"].get(payment_id) != 1 or hub["amounts"].get(payment_id) != amount:
            problems.append(f"hub: payment {payment_id} stored {hub['payment_rows'].get(payment_id)}"
                            f" times with {hub['amounts'].get(payment_id)}, expected once {amount}")
    stray = [a for a in edge["payments"] if a not in edge_paid]
    if stray:
        problems.append(f"edge: payments of attempts not paid: {stray[:3]}")
    extra_hub = set(hub_paid) - set(edge_paid)
    if extra_hub:
        problems.append(f"hub: {len(extra_hub)} attempts paid only at the hub, e.g. "
                        f"{sorted(extra_hub)[:3]}")
    edge_amounts = {a: v[2] for a, v in edge_paid.items()}
    if edge_amounts != ledger_paid:
        missing = sorted(set(ledger_paid) - set(edge_amounts))
        unknown = sorted(set(edge_amounts) - set(ledger_paid))
        differ = [a for a in set(ledger_paid) & set(edge_amounts)
                  if ledger_paid[a] != edge_amounts[a]]
        problems.append(f"edge vs gateway: {len(missing)} settled but not paid at the edge "
                        f"{missing[:3]}, {len(unknown)} paid at the edge but not settled "
                        f"{unknown[:3]}, {len(differ)} amounts differ {differ[:3]}")
    if driver_paid != ledger_paid:
        problems.append(f"driver paid {len(driver_paid)} QRs but the gateway settled "
                        f"{len(ledger_paid)}")
    webhooks = ledger.get("webhooks", [])
    figures = {
        "qris_paid_edge": len(edge_paid), "qris_paid_hub": len(hub_paid),
        "gateway_settled": sum(settled.values()),
        "qris_total": sum(edge_amounts.values()),
        "attempts_edge": len(edge["attempts"]),
        "attempts_by_status": dict(sorted(Counter(v[0] for v in edge["attempts"].values()).items())),
        "webhooks": len(webhooks),
        "webhooks_dropped": sum(1 for w in webhooks if w["dropped"]),
        "webhook_deliveries": sum(len(w["deliveries"]) for w in webhooks),
        "webhook_answers": dict(sorted(Counter(str(d["status"]) for w in webhooks
                                               for d in w["deliveries"]).items())),
        "hub_paid_notices": hub["paid_notices"],
    }
    return problems, figures


# -- a run -------------------------------------------------------------------------------------


def _configure_gateway(cluster: Cluster, fake: FakeGatewayProcess) -> None:
    """Head office sets the outlet's gateway at the hub: the fake, its key, a static QRIS."""
    body: dict[str, Any] = {"provider": fake.name, "api_base_url": fake.base_url,
                            "qr_expiry_seconds": 300, "static_qris": STATIC_QRIS}
    if fake.name == "midtrans":
        body["server_key"] = fake.server_key
    else:
        body.update(secret_key=fake.server_key, callback_token=fake.callback_token)
    with owner_client(cluster.hubs[0].url, cluster.owner_email, ADMIN_PASSWORD) as http:
        http.put(f"/api/v1/outlets/{cluster.outlet_id}/payment-gateway",
                 json=body).raise_for_status()


def _wait_gateway_ready(cluster: Cluster, timeout: float = 60) -> None:
    """Until the box has the gateway from its pull feed (its settings say so)."""
    assert cluster.edge_dir is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{cluster.edge_dir / 'edge.db'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT provider FROM payment_gateway").fetchone()
        except sqlite3.OperationalError:
            row = None
        finally:
            conn.close()
        if row and row[0] != "none":
            return
        time.sleep(0.2)
    raise TimeoutError(f"the box did not receive its payment gateway in {timeout:.0f} s")


def start_cluster(workdir: Path, seed: int, gateway: str, *, proxy_profile: str = "chaos",
                  pull_interval: float = 1.0) -> tuple[Cluster, FakeGatewayProcess]:
    """Hub, proxy, edge and a fake gateway whose webhooks go to the hub; the outlet's gateway
    set at the hub and received by the running edge. The caller closes both."""
    cluster = Cluster(workdir=workdir, seed=seed, proxy_profile=proxy_profile, start_edge=False,
                      menu_products=8,
                      # pull every second: relayed confirmations race the poller for real
                      sync_env={"POS_SYNC_BATCH_EVENTS": "40",
                                "POS_SYNC_PULL_INTERVAL": f"{pull_interval:g}"},
                      hub_extra_env={"POS_HUB_WEBHOOK_MAX_PER_IP": "1000000"})
    try:
        cluster.build()
        fake = FakeGatewayProcess(gateway, webhook_url=cluster.hubs[0].url + WEBHOOK_PATHS[gateway],
                                  log_path=workdir / f"fake-{gateway}.log", seed=seed)
    except BaseException:
        cluster.close()
        raise
    try:
        fake.start()
        _configure_gateway(cluster, fake)
        assert cluster.edge is not None
        cluster.edge.start()
        _wait_gateway_ready(cluster)
    except BaseException:
        fake.stop()
        cluster.close()
        raise
    return cluster, fake


@dataclass
class PaymentRun:
    """A finished payment chaos run and its processes, still up (``payments_run``)."""

    result: RunResult
    cluster: Cluster | None = None
    fake: FakeGatewayProcess | None = None


def run_payments(seed: int, payments: int, **options: Any) -> RunResult:
    """One seeded payment chaos run; never raises for a finding (``RunResult.problems``).
    The options are ``payments_run``'s."""
    with payments_run(seed, payments, **options) as run:
        return run.result


@contextlib.contextmanager
def payments_run(seed: int, payments: int, *, gateway: str = "midtrans", workers: int = 3,
                 base_dir: Path | None = None, keep: bool = False, chaos_gap: float = 3.0,
                 webhook_drop: float = 0.15, webhook_duplicate: float = 0.15,
                 sync_rates: dict[str, float] | None = None,
                 drain_timeout: float = 180.0) -> Iterator[PaymentRun]:
    """One seeded payment chaos run, checked; inside the ``with`` its processes stay up
    (healed: proxy passing, gateway up, no chaos thread) for more checks on the same outlet,
    and they stop at its end."""
    result = RunResult(seed=seed, kind=f"payments-{gateway}", orders=payments, hubs=1,
                       chaos_gap=chaos_gap)
    run = PaymentRun(result)
    workdir = _workdir(base_dir, f"chaos-pay{seed}")
    result.workdir = str(workdir)
    later_failed = False  # a check made inside the ``with`` failed: keep logs and database
    try:
        _run_payments(run, workdir, payments, gateway=gateway, workers=workers,
                      chaos_gap=chaos_gap, webhook_drop=webhook_drop,
                      webhook_duplicate=webhook_duplicate,
                      rates=sync_rates if sync_rates is not None else SYNC_FAULTS,
                      drain_timeout=drain_timeout)
        try:
            yield run
        except BaseException:
            later_failed = True
            raise
    finally:
        keep = keep or later_failed or not result.ok
        if run.fake is not None:
            run.fake.stop()
        if run.cluster is not None:
            run.cluster.close(keep_database=keep)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_payments(run: PaymentRun, workdir: Path, payments: int, *, gateway: str,
                  workers: int, chaos_gap: float, webhook_drop: float,
                  webhook_duplicate: float, rates: dict[str, float],
                  drain_timeout: float) -> None:
    result, seed = run.result, run.result.seed
    started = time.monotonic()
    monkey: PaymentChaos | None = None
    try:
        cluster, fake = start_cluster(workdir, seed, gateway)
        run.cluster, run.fake = cluster, fake
        assert cluster.edge is not None and cluster.proxy is not None
        result.seconds["setup"] = round(time.monotonic() - started, 2)
        fake.faults(webhook_drop=webhook_drop, webhook_duplicate=webhook_duplicate, seed=seed)
        cluster.proxy.configure(mode="faults", **rates)
        monkey = PaymentChaos(cluster, fake, seed, result.chaos, mean_gap=chaos_gap,
                              base_rates=rates)
        monkey.start()
        points = random.Random(f"{seed}:kill-points")
        # Each kind of trouble at least once, at seeded points of the selling.
        triggers: dict[int, list[str]] = {}
        for action, low, high in (("kill_edge", 0.15, 0.45), ("kill_hub", 0.5, 0.85),
                                  ("gateway_down", 0.1, 0.9), ("lost_create_reply", 0.1, 0.9)):
            triggers.setdefault(max(1, int(payments * points.uniform(low, high))),
                                []).append(action)

        def on_order(done: int) -> None:
            for action in triggers.pop(done, []):
                monkey.trigger(action)

        driver = PaymentDriver(cluster.edge.url, cluster.tokens, seed, payments=payments,
                               gateway=fake, workers=workers, on_order=on_order)
        selling = time.monotonic()
        try:
            asyncio.run(driver.run())
        finally:
            monkey.stop()
            monkey.join(timeout=60)
            result.driver = driver.as_dict()
        result.seconds["selling"] = round(time.monotonic() - selling, 2)
        if driver.latencies:
            ordered = sorted(driver.latencies)
            result.figures["paid_after_s_p50"] = round(ordered[len(ordered) // 2], 2)
            result.figures["paid_after_s_max"] = round(ordered[-1], 2)
        if monkey.error:
            result.problems.append(f"chaos thread failed: {monkey.error!r}")
        fake.faults(down=False, delay_creates=0)
        cluster.heal()
        heal_at = time.monotonic()
        try:
            cluster.wait_drained(drain_timeout)
        except TimeoutError as exc:
            result.problems.append(str(exc))
        result.seconds["drain_after_heal"] = round(time.monotonic() - heal_at, 2)
        assert cluster.edge_dir is not None
        problems, figures = compare(cluster.edge_dir / "edge.db", cluster.db_url,
                                    cluster.outlet_id)
        result.problems += problems
        result.figures.update(figures)
        problems, figures = agreement(cluster.edge_dir / "edge.db", cluster.db_url,
                                      cluster.outlet_id, gateway, fake.ledger(),
                                      dict(driver.paid_on_gateway))
        result.problems += problems
        result.figures.update(figures)
        if figures["qris_paid_edge"] < payments:
            result.problems.append(f"only {figures['qris_paid_edge']} QRIS payments of {payments}")
        result.proxy = cluster.proxy.stats()
        result.chaos["edge_kills"] = cluster.edge.kills
        result.chaos["hub_kills"] = sum(h.kills for h in cluster.hubs)
        if result.driver.get("server_errors"):
            result.problems.append(f"edge answered 5xx: {result.driver['server_errors'][:3]}")
        result.seconds["total"] = round(time.monotonic() - started, 2)
        result.ok = not result.problems
    except Exception as exc:  # noqa: BLE001 - a crashed run is a failed run, with its seed
        result.problems.append(f"run crashed: {exc!r}"[:2000])
        result.ok = False


def replay(result: RunResult, gateway: str) -> str:
    """The command that replays this run (``RunResult.replay``)."""
    return result.replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.payments",
                                     description="Seeded QRIS payment chaos: edge, hub and "
                                                 "gateway must agree.")
    parser.add_argument("--seeds", default="1", help="e.g. 1-5 or 3,7")
    parser.add_argument("--payments", type=int, default=1000, help="QRIS payments per run")
    parser.add_argument("--gateway", choices=("midtrans", "xendit"), default="midtrans")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--chaos-gap", type=float, default=3.0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed = []
    for seed in parse_seeds(args.seeds):
        result = run_payments(seed, args.payments, gateway=args.gateway, workers=args.workers,
                              base_dir=args.workdir, keep=args.keep, chaos_gap=args.chaos_gap,
                              drain_timeout=1800)
        print(json.dumps(result.as_dict()), flush=True)
        if not result.ok:
            failed.append(result)
            print(f"FAILED seed {result.seed}: {result.problems[:3]}\n  replay: "
                  f"{replay(result, args.gateway)}\n  logs: {result.workdir}", file=sys.stderr,
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
