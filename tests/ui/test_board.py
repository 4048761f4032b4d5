"""The customer order board on a 1920×1080 screen, against a real edge process.

* numbers fill the screen (their rendered size, not a CSS value, is checked);
* a ready number expires after ``?expire=`` seconds, counted from the edge's own event time
  (a reload does not give an old number a new life);
* while the edge is down the last numbers stay on screen, marked stale, with no overlay
  hiding them, and the board is live again when the edge is back.

Screenshots: docs/img/ui-board-1080p.png and ui-board-stale.png (copied from
artifacts/screenshots/).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer

pytestmark = pytest.mark.browser

FULL_HD = {"width": 1920, "height": 1080}
WAIT_MS = 10000


def place_order(edge: EdgeServer) -> dict[str, Any]:
    """A take-away order of the first product without required options (in the kitchen at once)."""
    menu = edge.call("GET", "/api/v1/menu", edge.tokens["kiosk"])
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    product = next(p for p in menu["products"] if p.get("available", True) and not any(
        groups[g]["min_choices"] for g in p.get("modifier_group_ids", []) if g in groups))
    body = {"type": "takeaway", "lines": [{"product_id": product["id"], "qty": 1, "modifiers": []}]}
    return edge.call("POST", "/api/v1/orders", edge.tokens["kiosk"], json=body)


def make_ready(edge: EdgeServer, order: dict[str, Any]) -> None:
    """Bump every kitchen ticket of the order, as the KDS does; the order becomes ready."""
    token = edge.tokens["kds"]
    for station in ("kitchen", "bar"):
        tickets = edge.call("GET", f"/api/v1/kitchen/tickets?station={station}&status=pending",
                            token)["items"]
        for ticket in tickets:
            if ticket["order_id"] == order["id"]:
                edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", token)
    assert edge.call("GET", f"/api/v1/orders/{order['id']}", edge.tokens["cashier"])["status"] == "ready"


def number(page: Any, column: str, n: int) -> Any:
    return page.get_by_test_id(column).locator("li", has_text=re.compile(rf"^{n}$"))


def box_of(page: Any, locator: Any) -> dict[str, float]:
    """The locator's box once it has one: the board renders anew on live events (a reconnect
    replays the day's), and an element replaced between finding it and measuring it has none."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while (box := locator.bounding_box()) is None and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert box is not None, f"{locator} has no box"
    return box


def open_board(context: Any, edge: EdgeServer, query: str = "") -> Any:
    page = context.new_page()
    page.set_viewport_size(FULL_HD)
    page.goto(f"{edge.base_url}/board/?token={edge.tokens['kds']}{query}")
    expect(page.get_by_test_id("ready")).to_be_visible(timeout=WAIT_MS)
    return page


def test_board_fills_a_1080p_screen_and_expires_ready_numbers(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    preparing = [place_order(edge) for _ in range(6)]
    ready = [place_order(edge) for _ in range(4)]
    for order in ready:
        make_ready(edge, order)
    board = open_board(context, edge, "&expire=600")
    for order in ready:
        expect(number(board, "ready", order["number"])).to_be_visible(timeout=WAIT_MS)
    for order in preparing:
        expect(number(board, "preparing", order["number"])).to_be_visible()

    # Readable across a room: a ready number is at least 20% of the screen's height and the
    # numbers use most of their column, not a corner of it.
    box = box_of(board, number(board, "ready", ready[0]["number"]))
    assert box["height"] >= 0.2 * FULL_HD["height"], box
    ready_boxes = board.get_by_test_id("ready").locator("li").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect()).map(r => [r.left, r.top, r.right, r.bottom])")
    column = box_of(board, board.get_by_test_id("ready"))
    used_w = max(b[2] for b in ready_boxes) - min(b[0] for b in ready_boxes)
    assert used_w >= 0.6 * column["width"], (used_w, column)
    prep_box = box_of(board, number(board, "preparing", preparing[0]["number"]))
    assert prep_box["height"] >= 0.12 * FULL_HD["height"], prep_box
    # Nothing spills off the screen.
    assert board.evaluate("document.documentElement.scrollHeight") <= FULL_HD["height"]
    assert board.evaluate("document.documentElement.scrollWidth") <= FULL_HD["width"]
    shoot(board, "board-1080p")

    # A rush still fits: 40 numbers in preparation, none cut off.
    rush = [place_order(edge) for _ in range(34)]
    expect(number(board, "preparing", rush[-1]["number"])).to_be_visible(timeout=WAIT_MS)
    section = box_of(board, board.get_by_test_id("preparing"))
    bottoms = board.get_by_test_id("preparing").locator("li").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().bottom)")
    assert len(bottoms) >= 40 and max(bottoms) <= section["y"] + section["height"] + 1, bottoms
    shoot(board, "board-rush")

    # Expiry: a board set to 3 s drops a number 3 s after it became ready...
    short = open_board(context, edge, "&expire=3")
    late = place_order(edge)
    expect(number(short, "preparing", late["number"])).to_be_visible(timeout=WAIT_MS)
    make_ready(edge, late)
    expect(number(short, "ready", late["number"])).to_be_visible(timeout=WAIT_MS)
    expect(number(short, "ready", late["number"])).to_have_count(0, timeout=WAIT_MS)
    # ...while the 10-minute board keeps it.
    expect(number(board, "ready", late["number"])).to_be_visible()
    # A reload does not bring it back: the clock is the edge's event time.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and short.get_by_test_id("ready").locator("li").count():
        short.wait_for_timeout(200)
    short.reload()
    expect(short.get_by_test_id("ready")).to_be_visible(timeout=WAIT_MS)
    expect(number(short, "preparing", rush[0]["number"])).to_be_visible(timeout=WAIT_MS)
    short.wait_for_timeout(1500)  # the replayed events have been applied by now
    expect(short.get_by_test_id("ready").locator("li")).to_have_count(0)
    # The edge still says ready: only the board's display expired.
    assert edge.call("GET", f"/api/v1/orders/{late['id']}", edge.tokens["cashier"])["status"] == "ready"


def test_board_keeps_the_last_numbers_marked_stale_during_a_blip(
        edge_server: EdgeServer, context: Any, shoot: Any) -> None:
    edge = edge_server
    waiting = place_order(edge)
    done = place_order(edge)
    make_ready(edge, done)
    board = open_board(context, edge)
    expect(number(board, "ready", done["number"])).to_be_visible(timeout=WAIT_MS)
    expect(board.get_by_test_id("stale")).to_be_hidden()

    edge.stop()
    stale = board.get_by_test_id("stale")
    expect(stale).to_be_visible(timeout=WAIT_MS)
    expect(stale).to_contain_text("Koneksi terputus")
    expect(stale).to_contain_text("Connection lost")
    expect(board.locator("main.orderboard.stale")).to_have_count(1)
    # The numbers stay readable; no overlay covers them.
    expect(number(board, "ready", done["number"])).to_be_visible()
    expect(number(board, "preparing", waiting["number"])).to_be_visible()
    assert board.locator(".reconnect-overlay:not([hidden])").count() == 0
    hit = board.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.textContent",
        [int(c) for c in _center(box_of(board, number(board, "ready", done["number"])))])
    assert hit == str(done["number"])
    shoot(board, "board-stale")

    edge.start()
    expect(stale).to_be_hidden(timeout=20000)
    expect(board.locator("main.orderboard.stale")).to_have_count(0)
    make_ready(edge, waiting)  # live again: the next change shows at once
    expect(number(board, "ready", waiting["number"])).to_be_visible(timeout=WAIT_MS)


def _center(box: dict[str, float]) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
