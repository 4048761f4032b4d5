"""Seeded chaos runs end to end: real edge, hub(s), PostgreSQL, fault proxy, kill -9.

Quick versions run in the suite; the long ones are marked slow, and the harness CLI runs any
number of seeds by hand (``python -m tests.chaos.harness --seeds 1-20 --orders 2000``). A
failing run's message carries its seed and the command that replays it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.cluster import faketime_library
from tests.chaos.harness import RunResult, run_outage, run_seed

pytestmark = pytest.mark.postgres

needs_faketime = pytest.mark.skipif(faketime_library() is None,
                                    reason="libfaketime (Debian package) moves the edge's clock")


def check(result: RunResult) -> None:
    assert result.ok, (f"seed {result.seed} failed: {result.problems}\n"
                       f"replay: {result.replay}\nlogs kept in {result.workdir}")
    figures = result.figures
    assert figures["orders"] == figures["hub_orders"] >= result.orders
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["payments_total"] > 0


TABLE_STEPS = ("seated", "rounds", "courses_fired", "lines_voided", "split_item", "split_even",
               "merges", "moves", "lines_moved", "bills_completed", "tables_cleaned")


def check_tables(result: RunResult) -> None:
    """Table service really happened, through every kind of change, and reached the hub as
    split, merged and amended bills (compare() checked each snapshot and the sales report)."""
    steps = result.driver["tables"]
    assert result.driver["table_errors"] == []
    assert steps.get("split_seat", 0) + steps.get("split_even", 0) > 0, steps
    missing = [step for step in TABLE_STEPS if not steps.get(step)]
    assert not missing, (missing, steps)
    assert steps["dinners_done"] >= result.dinners * 2 // 3, steps
    shapes = result.figures["shapes"]
    assert shapes["split_parts"] > 0 and shapes["voided_lines"] > 0 and shapes["amended"] > 0
    report = result.figures["sales_report"]
    assert report["split_bills"] > 0 and report["merged_bills"] > 0, report
    assert report["gross_total"] > 0 and report["items_sold"] > 0


def hostile(result: RunResult) -> None:
    """The run really was hostile: faults injected and processes killed."""
    faults = result.proxy.get("stats", {})
    assert sum(faults.get(k, 0) for k in ("drop_response", "duplicate", "drop_request",
                                           "cut_request", "cut_response")) > 0, faults
    assert result.chaos["edge_kills"] + result.chaos["hub_kills"] > 0, result.chaos
    assert result.figures["kitchen"].get("bumped", 0) > 0
    assert result.driver["voids"] > 0


def test_quick_chaos_run_edge_and_hub_agree(tmp_path: Path) -> None:
    # Counter orders and, beside them, 12 parties at tables (two waiters): every snapshot,
    # payment and the hub's sales report must equal the edge's, faults and kills included.
    # 60 orders: both seeded kills happen whatever the pace (the chaos thread does a queued
    # one before it stops), the proxy's fault draws go by request number, the table steps
    # come from the 12 dinners, and the cashiers' seeded draws void an order by the third
    # sale of one of them; more orders only repeat that (the slow runs sell thousands).
    result = run_seed(1, orders=60, base_dir=tmp_path, chaos_gap=2.0, dinners=12)
    check(result)
    check_tables(result)
    hostile(result)


def test_two_hub_processes_on_one_database_never_double_apply(tmp_path: Path) -> None:
    # Many duplicates: copies of one push land on both hubs, often at the same moment. The
    # same run is the second table-service seed: split, merged and amended bills must reach
    # the hub once through it too. 60 orders, as in the quick run.
    result = run_seed(11, orders=60, hubs=2, base_dir=tmp_path, chaos_gap=2.0, dinners=12,
                      rates={"duplicate": 0.3, "drop_response": 0.1, "reorder": 0.05,
                             "drop_request": 0.03, "cut_request": 0.02, "cut_response": 0.05})
    check(result)
    check_tables(result)
    hostile(result)
    assert result.proxy.get("stats", {}).get("duplicate", 0) > 0


@needs_faketime
def test_short_outage_across_a_week_drains_exactly(tmp_path: Path) -> None:
    # 120 orders: 700+ events queued while the edge's clock crosses the week, an hour or more
    # per order (staff tokens expire, kept-alive connections close), then drained in several
    # pushes of 250; more orders only repeat that (the slow run queues 60,000 events).
    orders = 120
    result = run_outage(21, orders=orders, base_dir=tmp_path, batch_events=250)
    check(result)
    assert result.figures["backlog_before_heal"] >= orders * 3
    assert result.figures["business_days"] >= 7


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 6))
def test_long_chaos_run(seed: int, tmp_path: Path) -> None:
    check(run_seed(seed, orders=2000, base_dir=tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [201, 202])
def test_long_table_service_chaos_run(seed: int, tmp_path: Path) -> None:
    result = run_seed(seed, orders=1000, base_dir=tmp_path, dinners=200, waiters=3,
                      tables=30, chaos_gap=2.0)
    check(result)
    check_tables(result)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 102])
def test_long_two_hub_run(seed: int, tmp_path: Path) -> None:
    check(run_seed(seed, orders=1500, hubs=2, base_dir=tmp_path))


@pytest.mark.slow
@needs_faketime
def test_week_long_outage_20000_orders(tmp_path: Path) -> None:
    result = run_outage(7, orders=20_000, base_dir=tmp_path, drain_timeout=1800)
    check(result)
    assert result.figures["backlog_before_heal"] >= 60_000
