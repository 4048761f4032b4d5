"""Screens on tablets whose clock is wrong, in Chromium against a real edge.

A shop's tablets often have no time source: the LAN has no internet for days, and a cheap
tablet's clock drifts or was never set. The ages and expiries a screen shows are about the
edge's events, so they follow the edge's clock (learnt from the Date header of its answers),
not the tablet's: a kitchen screen ten minutes ahead must not show every new ticket ten
minutes late (and stay silent: only new tickets chime), nor one behind show a late ticket as
fresh; a board ahead must not drop a ready number the moment it appears. Times of day are
shown as the outlet's clocks show them, whatever time zone the tablet was left in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_board import make_ready, number, place_order
from tests.ui.test_screens import (
    demo_menu,
    open_till,
    place_api_order,
    product_with_required_group,
    station_of,
    ticket_card,
)

pytestmark = pytest.mark.browser

WAIT_MS = 15000


def tablet(context: Any, edge: EdgeServer, path: str, token: str, off_by: timedelta) -> Any:
    """A screen whose clock is ``off_by`` from the real (and the edge's) time, running on."""
    page = context.new_page()
    page.clock.install(time=datetime.now(UTC) + off_by)
    sep = "&" if "?" in path else "?"
    page.goto(f"{edge.base_url}{path}{sep}token={token}")
    return page


@pytest.mark.parametrize("minutes", [12, -12], ids=["ahead", "behind"])
def test_kitchen_screen_ages_tickets_by_the_edges_clock(shared_edge: EdgeServer, context: Any,
                                                        minutes: int) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    station = station_of(menu, product)
    kds = tablet(context, edge, f"/kds/?station={station}&late=10", edge.tokens["kds"],
                 timedelta(minutes=minutes))
    expect(kds.get_by_test_id("sound")).to_be_visible(timeout=WAIT_MS)
    kds.get_by_test_id("sound").click()  # a tap: the chime may sound
    kds.wait_for_timeout(1500)  # the health poll has answered: the edge's clock is known
    order = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    card = ticket_card(kds, order["number"])
    expect(card).to_be_visible(timeout=WAIT_MS)
    # Seconds old, not twelve minutes late (ahead)...
    expect(card.locator(".age")).to_have_text(re.compile(r"^0:\d\d$"))
    expect(card).to_have_attribute("data-age", "fresh")
    assert kds.evaluate("document.body.dataset.lastBeep") is not None  # a new ticket chimed
    # ...and it ages: a new ticket 3 s later redraws the screen, and the first one says it is
    # seconds old, where a screen behind the edge showed 0:00 for twelve minutes.
    kds.wait_for_timeout(3000)
    later = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    expect(ticket_card(kds, later["number"])).to_be_visible(timeout=WAIT_MS)
    expect(card.locator(".age")).to_have_text(re.compile(r"^0:(0[2-9]|[1-5]\d)$"))


def test_board_ahead_of_the_edge_shows_a_ready_number_for_its_time(
        shared_edge: EdgeServer, context: Any) -> None:
    edge = shared_edge
    board = tablet(context, edge, "/board/?expire=4", edge.tokens["kds"],
                   timedelta(minutes=10))
    expect(board.get_by_test_id("ready")).to_be_visible(timeout=WAIT_MS)
    board.wait_for_timeout(1500)  # the health poll has answered: the edge's clock is known
    order = place_order(edge)
    expect(number(board, "preparing", order["number"])).to_be_visible(timeout=WAIT_MS)
    make_ready(edge, order)
    # Shown (a board ten minutes ahead dropped it at once: ten minutes are more than 4 s)...
    ready = number(board, "ready", order["number"])
    expect(ready).to_be_visible(timeout=WAIT_MS)
    # ...and gone once its 4 s are up on the edge's clock.
    expect(ready).to_have_count(0, timeout=WAIT_MS)


def test_the_till_shows_times_of_day_in_the_outlets_time_zone(shared_edge: EdgeServer,
                                                              chromium: Any) -> None:
    edge = shared_edge
    zone = edge.call("GET", "/api/v1/me", edge.tokens["cashier"])["outlet"]["timezone"]
    tablet_zone = "America/New_York"  # a tablet left in another zone (or reset to UTC)
    assert zone != tablet_zone
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID",
                                   timezone_id=tablet_zone, service_workers="block")
    try:
        order = place_order(edge)
        till = open_till(context, edge)
        card = till.get_by_test_id("open-order").filter(
            has=till.locator(".num", has_text=re.compile(rf"^#{order['number']}$")))
        created = datetime.fromisoformat(order["created_at"])
        shown, elsewhere = created.astimezone(ZoneInfo(zone)), created.astimezone(ZoneInfo(tablet_zone))
        assert shown.hour != elsewhere.hour
        expect(card.locator(".meta")).to_contain_text(
            re.compile(rf"(^|\D){shown:%H}\D{shown:%M}(\D|$)"), timeout=WAIT_MS)
    finally:
        context.close()
