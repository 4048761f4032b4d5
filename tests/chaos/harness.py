"""The chaos harness: seeded runs of real edge + hub(s) + PostgreSQL behind a fault proxy.

Per seed: a fresh PostgreSQL database, ``pos-hub`` process(es), a provisioned ``pos-edge``
process whose only way to the hub is the fault proxy (tests/chaos/faultproxy.py), and the
order driver (tests/chaos/driver.py) selling through the edge's API. Meanwhile a chaos thread
kills the edge and the hub with SIGKILL at random moments (and restarts them on the same
data), cuts the network for a while, and the proxy drops, duplicates, delays, reorders and
cuts sync requests and replies. Then the network heals, the edge's backlog must reach 0, and
the hub must equal the edge exactly:

* the same order ids, and per status the same count, total and paid sums;
* every order snapshot the same, field by field and line by line (amended bills, split
  parts, split and merged bills: table, covers, revision, split/merge links, each line's
  state, round, course, seat and void), and the edge's own table equal to its journal;
* the same payment ids with the same amounts (sum per method);
* the same kitchen events (by event id; count per action);
* the same journal (epoch, seq, hash) for every event, no event id twice, nothing
  quarantined, no integrity alarm;
* the hub's sales report (``GET /api/v1/reports/sales``) equal, figure by figure, to a
  recomputation from the edge's journal (tests/chaos/report_oracle.py).

With ``dinners`` waiters also serve tables (tests/chaos/driver.py): the hub gets a floor plan
first, and bills are seated, amended in rounds, fired, voided line by line, split, merged,
moved, paid and closed through the edge's table-service endpoints under the same faults.

Everything random comes from the seed (driver, faults by request number, chaos schedule);
process timing is real, so a replay repeats the same decisions, not the same microseconds.

    python -m tests.chaos.harness --seeds 1-20 --orders 2000          # long run, by hand
    python -m tests.chaos.harness --seeds 7 --orders 2000             # replay one seed
    python -m tests.chaos.harness --seeds 1-3 --orders 1000 --hubs 2  # two hubs, one database
    python -m tests.chaos.harness --outage-week --orders 20000        # a week offline
    python -m tests.chaos.harness --seeds 1-3 --orders 2000 --dinners 300  # with table service
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import psycopg

from shared.schemas import EventBody, Order, OrderLine
from tests.chaos import report_oracle
from tests.chaos.cluster import PINS, Cluster
from tests.chaos.driver import OrderDriver

__all__ = ["RunResult", "compare", "main", "run_outage", "run_seed"]

WEEK = 7 * 24 * 3600
INTEGRITY_ALARMS = {"broken_chain", "seq_conflict", "money_mismatch", "foreign_outlet",
                    "seq_reuse"}


@dataclass
class RunResult:
    seed: int
    kind: str
    orders: int
    hubs: int
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    chaos: Counter[str] = field(default_factory=Counter)
    proxy: dict[str, Any] = field(default_factory=dict)
    driver: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    workdir: str = ""
    chaos_gap: float = 3.0
    dinners: int = 0
    batch_events: int = 0  # outage runs: events per push, 0 for the edge's default

    @property
    def replay(self) -> str:
        if self.kind.startswith("payments-"):  # tests/chaos/payments.py
            return (f"python -m tests.chaos.payments --seeds {self.seed} --payments "
                    f"{self.orders} --gateway {self.kind.split('-', 1)[1]} "
                    f"--chaos-gap {self.chaos_gap:g}")
        if self.kind == "outage":
            batch = f" --batch-events {self.batch_events}" if self.batch_events else ""
            return (f"python -m tests.chaos.harness --outage-week --seeds {self.seed} "
                    f"--orders {self.orders}{batch}")
        gap = f" --chaos-gap {self.chaos_gap:g}" if self.chaos_gap != 3.0 else ""
        dinners = f" --dinners {self.dinners}" if self.dinners else ""
        return (f"python -m tests.chaos.harness --seeds {self.seed} --orders {self.orders}"
                f" --hubs {self.hubs}{gap}{dinners}")

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "kind": self.kind, "ok": self.ok, "orders": self.orders,
                "hubs": self.hubs, "problems": self.problems, "figures": self.figures,
                "chaos": dict(self.chaos), "proxy": self.proxy.get("stats", {}),
                "driver": self.driver, "seconds": self.seconds, "replay": self.replay,
                "workdir": self.workdir}


# -- the comparison ------------------------------------------------------------------------


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _line_key(line: OrderLine) -> tuple[Any, ...]:
    return (line.id, line.product_id, line.name, line.qty, line.unit_price, line.line_total,
            line.station, line.note, line.state, line.round, line.course, line.seat,
            _ts(line.added_at), line.void_reason, line.voided_by,
            tuple(sorted(json.dumps(m, sort_keys=True)
                         for m in msgspec.to_builtins(line.modifiers))))


def snapshot_key(order: Order) -> tuple[Any, ...]:
    """What the hub keeps of an order snapshot, field by field, lines sorted by id."""
    return (order.number, order.business_day, order.type, order.status, order.subtotal,
            order.discount, order.service_charge, order.tax, order.rounding, order.total,
            order.paid, order.table, order.table_id, order.covers, _ts(order.seated_at),
            order.revision, order.split_from, order.split_part, len(order.split_into),
            order.merged_into, order.void_reason, _ts(order.created_at), _ts(order.updated_at),
            tuple(sorted(_line_key(line) for line in order.lines)))


def _edge_state(db_path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    decode = msgspec.json.Decoder(Order).decode
    try:
        orders: dict[str, tuple[str, int, int]] = {}
        snapshots: dict[str, tuple[Any, ...]] = {}
        shapes: Counter[str] = Counter()
        for row in conn.execute("SELECT id, status, total, paid, snapshot FROM orders"):
            orders[row[0]] = (row[1], row[2], row[3])
            order = decode(row[4])
            snapshots[row[0]] = snapshot_key(order)
            shapes["table_bills"] += order.table_id is not None
            shapes["split_parts"] += order.split_from is not None
            shapes["amended"] += order.revision > 0
            shapes["voided_lines"] += sum(line.state == "voided" for line in order.lines)
            shapes["rounds"] += max((line.round for line in order.lines), default=0)
        payments = {row[0]: (row[1], row[2], row[3], row[4], row[5], row[6]) for row in
                    conn.execute("SELECT id, order_id, method, amount, tendered, change,"
                                 " reference FROM payments")}
        kitchen: dict[str, str] = {}
        journal: set[tuple[str, int, str]] = set()
        for event_id, epoch, seq, digest, kind, body in conn.execute(
                "SELECT event_id, epoch, seq, hash, kind, body FROM outbox"):
            journal.add((epoch, seq, digest))
            if kind == "kitchen":
                kitchen[event_id] = msgspec.msgpack.decode(body, type=EventBody).action
        head = conn.execute("SELECT seq, acked_seq, pruned_seq FROM journal_head").fetchone()
        days = [row[0] for row in conn.execute("SELECT DISTINCT business_day FROM orders")]
    finally:
        conn.close()
    return {"orders": orders, "snapshots": snapshots, "shapes": shapes, "payments": payments,
            "kitchen": kitchen, "journal": journal, "head": head, "business_days": sorted(days)}


def _hub_state(db_url: str, outlet_id: str) -> dict[str, Any]:
    with psycopg.connect(db_url, autocommit=True) as conn:  # superuser: reads past RLS
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql, (outlet_id,)).fetchall()
        orders = {r[0]: (r[1], r[2], r[3]) for r in rows(
            "SELECT id, status, total, paid FROM orders WHERE outlet_id = %s")}
        lines: dict[str, list[tuple[Any, ...]]] = {}
        for r in rows("SELECT order_id, id, product_id, name, qty, unit_price, line_total,"
                      " station, note, state, round, course, seat, added_at, void_reason,"
                      " voided_by, modifiers FROM order_lines WHERE outlet_id = %s"):
            modifiers = r[16] if not isinstance(r[16], str) else json.loads(r[16])
            lines.setdefault(r[0], []).append(
                (*r[1:13], _ts(r[13]), r[14], r[15],
                 tuple(sorted(json.dumps(m, sort_keys=True) for m in modifiers or []))))
        snapshots = {r[0]: (r[1], r[2].isoformat(), *r[3:15], _ts(r[15]), *r[16:21], r[21],
                            _ts(r[22]), _ts(r[23]), tuple(sorted(lines.get(r[0], []))))
                     for r in rows(
            "SELECT id, number, business_day, type, status, subtotal, discount, service_charge,"
            " tax, rounding, total, paid, table_label, table_id, covers, seated_at, revision,"
            " split_from, split_part, split_count, merged_into, void_reason, created_at,"
            " updated_at FROM orders WHERE outlet_id = %s")}
        payments = {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows(
            "SELECT id, order_id, method, amount, tendered, change, reference FROM payments"
            " WHERE outlet_id = %s")}
        kitchen = {r[0]: r[1] for r in rows(
            "SELECT id, action FROM kitchen_events WHERE outlet_id = %s")}
        journal_rows = rows("SELECT epoch, seq, hash, event_id FROM sync_journal"
                            " WHERE outlet_id = %s")
        quarantined = rows("SELECT seq, kind, reason FROM sync_quarantine WHERE outlet_id = %s")
        alarms = rows("SELECT kind, message FROM sync_alarms WHERE outlet_id = %s")
    event_ids = Counter(r[3] for r in journal_rows)
    return {"orders": orders, "snapshots": snapshots, "payments": payments, "kitchen": kitchen,
            "journal": {(r[0], r[1], r[2]) for r in journal_rows},
            "journal_rows": len(journal_rows),
            "duplicate_event_ids": [e for e, n in event_ids.items() if n > 1],
            "quarantined": quarantined, "alarms": alarms}


def _per_status(orders: dict[str, tuple[str, int, int]]) -> dict[str, list[int]]:
    table: dict[str, list[int]] = {}
    for status, total, paid in orders.values():
        row = table.setdefault(status, [0, 0, 0])
        row[0] += 1
        row[1] += total
        row[2] += paid
    return dict(sorted(table.items()))


def _per_method(payments: dict[str, tuple[Any, ...]]) -> dict[str, list[int]]:
    table: dict[str, list[int]] = {}
    for _order, method, amount, *_rest in payments.values():
        row = table.setdefault(method, [0, 0])
        row[0] += 1
        row[1] += amount
    return dict(sorted(table.items()))


def compare(edge_db: Path, db_url: str, outlet_id: str) -> tuple[list[str], dict[str, Any]]:
    """Problems (empty = exact match) and the figures both sides were compared on."""
    edge, hub = _edge_state(edge_db), _hub_state(db_url, outlet_id)
    problems: list[str] = []

    def diff(name: str, mine: dict[str, Any], theirs: dict[str, Any]) -> None:
        lost = set(mine) - set(theirs)
        extra = set(theirs) - set(mine)
        changed = [k for k in set(mine) & set(theirs) if mine[k] != theirs[k]]
        if lost:
            problems.append(f"{name}: {len(lost)} lost (on the edge, not on the hub), e.g. "
                            f"{sorted(lost)[:3]}")
        if extra:
            problems.append(f"{name}: {len(extra)} extra on the hub, e.g. {sorted(extra)[:3]}")
        if changed:
            k = min(changed)
            problems.append(f"{name}: {len(changed)} differ, e.g. {k}: edge {mine[k]} "
                            f"hub {theirs[k]}")

    diff("orders", edge["orders"], hub["orders"])
    diff("order snapshots", edge["snapshots"], hub["snapshots"])
    diff("payments", edge["payments"], hub["payments"])
    diff("kitchen events", edge["kitchen"], hub["kitchen"])
    edge_journal, hub_journal = edge["journal"], hub["journal"]
    if edge_journal != hub_journal:
        problems.append(f"journal: {len(edge_journal - hub_journal)} entries missing at the "
                        f"hub, {len(hub_journal - edge_journal)} unknown to the edge")
    if hub["duplicate_event_ids"]:
        problems.append(f"journal: {len(hub['duplicate_event_ids'])} event ids stored twice")
    if hub["journal_rows"] != len(hub_journal):
        problems.append("journal: the hub holds the same (epoch, seq) twice")
    if hub["quarantined"]:
        problems.append(f"quarantined at the hub: {hub['quarantined'][:3]}")
    bad_alarms = [a for a in hub["alarms"] if a[0] in INTEGRITY_ALARMS]
    if bad_alarms:
        problems.append(f"integrity alarms: {bad_alarms[:3]}")
    seq, acked, _pruned = edge["head"]
    if acked != seq:
        problems.append(f"edge head: seq {seq} but acked {acked}")

    edge_status, hub_status = _per_status(edge["orders"]), _per_status(hub["orders"])
    edge_methods, hub_methods = _per_method(edge["payments"]), _per_method(hub["payments"])
    edge_actions, hub_actions = Counter(edge["kitchen"].values()), Counter(hub["kitchen"].values())
    if edge_status != hub_status:
        problems.append(f"per-status counts/totals differ: edge {edge_status} hub {hub_status}")
    if edge_methods != hub_methods:
        problems.append(f"payments per method differ: edge {edge_methods} hub {hub_methods}")
    if edge_actions != hub_actions:
        problems.append(f"kitchen events per action differ: edge {dict(edge_actions)} "
                        f"hub {dict(hub_actions)}")
    figures = {
        "orders": len(edge["orders"]), "events": len(edge_journal),
        "per_status": edge_status, "payments": edge_methods,
        "payments_total": sum(v[1] for v in edge_methods.values()),
        "kitchen": dict(sorted(edge_actions.items())),
        "hub_orders": len(hub["orders"]), "hub_events": hub["journal_rows"],
        "lost": len(edge_journal - hub_journal), "duplicates": len(hub["duplicate_event_ids"]),
        "business_days": len(edge["business_days"]),
        "alarms": sorted({a[0] for a in hub["alarms"]}),
        "snapshots_compared": len(edge["snapshots"]),
        "shapes": dict(sorted(edge["shapes"].items())),
    }
    return problems, figures


def compare_reports(edge_db: Path, cluster: Cluster, zone: str = "Asia/Jakarta"
                    ) -> tuple[list[str], dict[str, Any]]:
    """The hub's sales report against the edge's journal (tests/chaos/report_oracle.py); also
    that the edge's orders table holds the journal's latest snapshot of every order."""
    facts = report_oracle.journal_facts(edge_db)
    problems: list[str] = []
    edge = _edge_state(edge_db)["snapshots"]
    journal = {oid: snapshot_key(order) for oid, order in facts.orders.items()}
    if journal != edge:
        odd = sorted(k for k in set(journal) | set(edge) if journal.get(k) != edge.get(k))
        problems.append(f"edge: {len(odd)} orders differ from their latest journal snapshot, "
                        f"e.g. {odd[:3]}")
    days = sorted(date.fromisoformat(o.business_day) for o in facts.orders.values())
    if not days:
        return problems, {}
    expected = report_oracle.expected_sales(facts, cluster.outlet_id, ZoneInfo(zone),
                                            days[0], days[-1])
    client = cluster.hub_client()
    try:
        got = report_oracle.hub_sales(client, cluster.outlet_id, days[0], days[-1])
    finally:
        client.close()
    problems += report_oracle.report_problems(expected, got)
    statuses = Counter(o.status for o in facts.orders.values())
    open_sales = sum(o.total for o in facts.orders.values()
                     if o.status in ("placed", "in_kitchen", "ready"))
    figures = {"order_count": got["order_count"], "gross_total": got["gross_total"],
               "of_which_open": open_sales, "voids": got["voids"],
               "products": len(got["by_product"]),
               "items_sold": sum(p["qty"] for p in got["by_product"]),
               "kitchen_tickets": got["kitchen"]["tickets"],
               "split_bills": statuses["split"], "merged_bills": statuses["merged"]}
    return problems, figures


# -- chaos ---------------------------------------------------------------------------------


class ChaosMonkey(threading.Thread):
    """Seeded schedule of kills and partitions while the driver sells."""

    def __init__(self, cluster: Cluster, seed: int, counts: Counter[str],
                 mean_gap: float = 3.0, base_rates: dict[str, float] | None = None) -> None:
        super().__init__(daemon=True, name="chaos")
        self.cluster = cluster
        self.rng = random.Random(f"{seed}:chaos")
        self.counts = counts
        self.mean_gap = mean_gap
        self.base_rates = base_rates or _CHAOS_RATES
        self.stop_event = threading.Event()
        self.triggers: queue.Queue[str] = queue.Queue()
        self._wake = threading.Event()  # a trigger or stop() came: cut the pause short
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    action = self.triggers.get(timeout=self.rng.uniform(0.3, 2 * self.mean_gap))
                except queue.Empty:
                    action = None
                if self.stop_event.is_set():
                    if action:  # a seeded trigger (stop() wakes the thread with "")
                        self.step(action)
                    break
                self.step(action)
            # A seeded point the selling reached as it ended is still queued: it happens now.
            # Dropped, a quick selling could end with no kill at all.
            while True:
                try:
                    action = self.triggers.get_nowait()
                except queue.Empty:
                    break
                if action:
                    self.step(action)
        except BaseException as exc:  # noqa: BLE001 - reported by the harness
            self.error = exc

    def trigger(self, action: str) -> None:
        """Do ``action`` now (from the driver's progress), between the timed ones: a timed
        action under way ends its pause (restoring what it broke) to make way."""
        self.triggers.put(action)
        self._wake.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.triggers.put("")
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """A timed action's pause (a process down, the network cut): up to ``seconds``, less
        when a seeded trigger is due or the selling is over (heal() follows)."""
        self._wake.clear()
        if self.stop_event.is_set() or not self.triggers.empty():
            return
        self._wake.wait(seconds)

    def step(self, action: str | None = None) -> None:
        cluster, rng = self.cluster, self.rng
        assert cluster.edge is not None and cluster.proxy is not None
        action = action or rng.choices(["kill_edge", "kill_hub", "partition", "fault_storm"],
                                       weights=[3, 3, 2, 2])[0]
        self.counts[action] += 1
        if action == "kill_edge":
            cluster.edge.kill9()
            self.pause(rng.uniform(0.0, 1.0))
            cluster.edge.start()
        elif action == "kill_hub":
            hub = rng.choice(cluster.hubs)
            hub.kill9()
            self.pause(rng.uniform(0.2, 2.0))
            hub.start()
        elif action == "partition":
            cluster.proxy.configure(mode=rng.choice(["down", "hang"]))
            self.pause(rng.uniform(0.5, 3.0))
            cluster.proxy.configure(mode="faults")
        else:  # everything goes wrong at once for a moment
            cluster.proxy.configure(drop_response=0.3, duplicate=0.2, cut_response=0.2,
                                    drop_request=0.1, reorder=0.1, cut_request=0.1)
            self.pause(rng.uniform(1.0, 3.0))
            cluster.proxy.configure(**self.base_rates)


_CHAOS_RATES = {"drop_request": 0.05, "drop_response": 0.08, "duplicate": 0.08, "reorder": 0.05,
                "cut_request": 0.04, "cut_response": 0.05}


# -- runs ----------------------------------------------------------------------------------


def _workdir(base: Path | None, name: str) -> Path:
    root = base or Path(tempfile.gettempdir())
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    return path


def _finish(result: RunResult, cluster: Cluster, started: float, drain_timeout: float,
            keep: bool) -> RunResult:
    assert cluster.edge_dir is not None and cluster.proxy is not None
    cluster.heal()
    heal_at = time.monotonic()
    try:
        cluster.wait_drained(drain_timeout)
    except TimeoutError as exc:
        result.problems.append(str(exc))
    result.seconds["drain_after_heal"] = round(time.monotonic() - heal_at, 2)
    problems, figures = compare(cluster.edge_dir / "edge.db", cluster.db_url, cluster.outlet_id)
    result.problems += problems
    result.figures = figures
    try:
        problems, figures["sales_report"] = compare_reports(cluster.edge_dir / "edge.db", cluster)
        result.problems += problems
    except Exception as exc:  # noqa: BLE001 - a report that cannot be read is a finding
        result.problems.append(f"sales report check failed: {exc!r}"[:2000])
    result.proxy = cluster.proxy.stats()
    result.chaos["edge_kills"] = cluster.edge.kills if cluster.edge else 0
    result.chaos["hub_kills"] = sum(h.kills for h in cluster.hubs)
    result.seconds["total"] = round(time.monotonic() - started, 2)
    if result.driver.get("server_errors"):
        result.problems.append(f"edge answered 5xx: {result.driver['server_errors'][:3]}")
    if result.driver.get("table_errors"):
        result.problems.append(f"table service refused: {result.driver['table_errors'][:3]}")
    result.ok = not result.problems
    return result


def run_seed(seed: int, orders: int, *, hubs: int = 1, workers: int = 3,
             base_dir: Path | None = None, keep: bool = False,
             drain_timeout: float = 180.0, chaos_gap: float = 3.0,
             rates: dict[str, float] | None = None, dinners: int = 0, waiters: int = 2,
             tables: int = 24) -> RunResult:
    """One seeded chaos run; never raises for a finding (see ``RunResult.problems``).
    ``rates`` overrides fault probabilities of the proxy (see faultproxy.FaultConfig);
    ``dinners`` > 0 adds table service: ``waiters`` serve that many parties at ``tables``."""
    result = RunResult(seed=seed, kind="chaos", orders=orders, hubs=hubs, chaos_gap=chaos_gap,
                       dinners=dinners)
    workdir = _workdir(base_dir, f"chaos-seed{seed}")
    result.workdir = str(workdir)
    started = time.monotonic()
    # Small batches: many more sync requests, so many more of them meet a fault.
    cluster = Cluster(workdir=workdir, seed=seed, hubs_count=hubs, proxy_profile="chaos",
                      sync_env={"POS_SYNC_BATCH_EVENTS": "40"},
                      floor_tables=tables if dinners else 0)
    monkey: ChaosMonkey | None = None
    try:
        cluster.build()
        assert cluster.edge is not None and cluster.proxy is not None
        result.seconds["setup"] = round(time.monotonic() - started, 2)
        base_rates = {**_CHAOS_RATES, **(rates or {})}
        cluster.proxy.configure(mode="faults", **base_rates)
        monkey = ChaosMonkey(cluster, seed, result.chaos, mean_gap=chaos_gap,
                             base_rates=base_rates)
        monkey.start()
        # Both kinds of kill happen at seeded points of the selling, however fast it goes (one
        # that comes while the chaos thread is busy waits for it, after the selling at worst);
        # the timed schedule adds more of everything in between.
        points_rng = random.Random(f"{seed}:kill-points")
        kill_points = {max(1, int(orders * points_rng.uniform(0.15, 0.45))): "kill_edge",
                       max(2, int(orders * points_rng.uniform(0.5, 0.85))): "kill_hub"}

        def on_order(done: int) -> None:
            if done in kill_points:
                monkey.trigger(kill_points.pop(done))

        driver = OrderDriver(cluster.edge.url, cluster.tokens, PINS, seed,
                             orders=orders, workers=workers, on_order=on_order,
                             dinners=dinners, waiters=waiters)
        selling = time.monotonic()
        try:
            asyncio.run(driver.run())
        finally:
            monkey.stop()
            monkey.join(timeout=60)
            result.driver = driver.stats.as_dict()
        result.seconds["selling"] = round(time.monotonic() - selling, 2)
        if monkey.error:
            result.problems.append(f"chaos thread failed: {monkey.error!r}")
        _finish(result, cluster, started, drain_timeout, keep)
    except Exception as exc:  # noqa: BLE001 - a crashed run is a failed run, with its seed
        result.problems.append(f"run crashed: {exc!r}"[:2000])
        result.ok = False
    finally:
        cluster.close(keep_database=keep or not result.ok)
        if result.ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def run_outage(seed: int, orders: int, *, days: int = 7, workers: int = 4,
               base_dir: Path | None = None, keep: bool = False,
               drain_timeout: float = 600.0, batch_events: int | None = None) -> RunResult:
    """The hub unreachable while the edge's clock crosses ``days`` days and ``orders`` orders
    queue up; then the network heals: full drain, exact totals. ``batch_events`` caps the
    events per push (the edge's default otherwise)."""
    result = RunResult(seed=seed, kind="outage", orders=orders, hubs=1,
                       batch_events=batch_events or 0)
    workdir = _workdir(base_dir, f"chaos-outage{seed}")
    result.workdir = str(workdir)
    started = time.monotonic()
    sync_env = {"POS_SYNC_BATCH_EVENTS": str(batch_events)} if batch_events else {}
    cluster = Cluster(workdir=workdir, seed=seed, edge_clock=True, proxy_profile="clean",
                      sync_env=sync_env)
    try:
        span = days * 24 * 3600
        cluster.edge_clock = True
        cluster.build()
        assert cluster.edge is not None and cluster.proxy is not None
        result.seconds["setup"] = round(time.monotonic() - started, 2)
        # The outage starts now: the edge's clock goes back to the first day of the week and
        # walks forward to the present while it sells, with the hub unreachable throughout.
        cluster.proxy.configure(mode="down")
        cluster.set_edge_clock_offset(-span)
        time.sleep(0.2)
        last_offset = [-span]

        def advance(done: int) -> None:
            offset = -span + int(span * done / orders)
            if offset - last_offset[0] >= 3600:  # at most hourly steps
                cluster.set_edge_clock_offset(offset)
                last_offset[0] = offset

        driver = OrderDriver(cluster.edge.url, cluster.tokens, PINS, seed, orders=orders,
                             workers=workers, on_order=advance, complete_rate=0.1)
        selling = time.monotonic()
        asyncio.run(driver.run())
        result.driver = driver.stats.as_dict()
        result.seconds["selling"] = round(time.monotonic() - selling, 2)
        cluster.set_edge_clock_offset(0)
        time.sleep(0.2)
        queued = cluster.sync_status()
        result.figures["backlog_before_heal"] = queued.get("backlog")
        _finish(result, cluster, started, drain_timeout, keep)
        result.figures["backlog_before_heal"] = queued.get("backlog")
        events = result.figures.get("events") or 1
        drain = result.seconds.get("drain_after_heal") or 1
        result.figures["drain_events_per_s"] = round(events / drain, 1)
        if result.figures.get("business_days", 0) < days:
            result.problems.append(f"orders span only {result.figures.get('business_days')} "
                                   f"business days, expected {days}+")
            result.ok = False
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"run crashed: {exc!r}"[:2000])
        result.ok = False
    finally:
        cluster.close(keep_database=keep or not result.ok)
        if result.ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


# -- CLI -----------------------------------------------------------------------------------


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            seeds += range(int(low), int(high) + 1)
        elif part:
            seeds.append(int(part))
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.harness",
                                     description="Seeded chaos runs: edge and hub must agree.")
    parser.add_argument("--seeds", default="1-20", help="e.g. 1-20 or 3,7,11")
    parser.add_argument("--orders", type=int, default=2000, help="orders per run")
    parser.add_argument("--hubs", type=int, default=1, help="hub processes on one database")
    parser.add_argument("--workers", type=int, default=3, help="concurrent cashier workers")
    parser.add_argument("--chaos-gap", type=float, default=3.0,
                        help="mean seconds between kills/partitions/fault storms")
    parser.add_argument("--dinners", type=int, default=0,
                        help="table-service parties served by waiters beside the orders")
    parser.add_argument("--waiters", type=int, default=2, help="concurrent waiter workers")
    parser.add_argument("--tables", type=int, default=24, help="tables on the floor plan")
    parser.add_argument("--outage-week", action="store_true",
                        help="simulate a week offline instead (needs libfaketime)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep databases and folders")
    parser.add_argument("--batch-events", type=int, default=0,
                        help="outage runs: events per push (default: the edge's)")
    parser.add_argument("--drain-timeout", type=float, default=1800.0,
                        help="seconds the backlog may take to reach 0 after healing")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every run still stops its processes and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed: list[RunResult] = []
    for seed in parse_seeds(args.seeds):
        if args.outage_week:
            result = run_outage(seed, args.orders, base_dir=args.workdir, keep=args.keep,
                                drain_timeout=args.drain_timeout,
                                batch_events=args.batch_events or None)
        else:
            result = run_seed(seed, args.orders, hubs=args.hubs, workers=args.workers,
                              base_dir=args.workdir, keep=args.keep,
                              drain_timeout=args.drain_timeout, chaos_gap=args.chaos_gap,
                              dinners=args.dinners, waiters=args.waiters, tables=args.tables)
        print(json.dumps(result.as_dict()), flush=True)
        if not result.ok:
            failed.append(result)
            print(f"FAILED seed {result.seed}: {result.problems[:3]}\n  replay: {result.replay}"
                  f"\n  logs: {result.workdir}", file=sys.stderr, flush=True)
    print(json.dumps({"summary": True, "runs": len(parse_seeds(args.seeds)),
                      "failed_seeds": [r.seed for r in failed],
                      "replay": [r.replay for r in failed]}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
