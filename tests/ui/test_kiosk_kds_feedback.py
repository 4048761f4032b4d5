"""KDS items of issue 13 in Chromium against a real edge: the sound setting survives a reload
of that screen (and only that station's screen), and a bump or a recall says what happened."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_screens import (
    demo_menu,
    open_app,
    place_api_order,
    product_with_required_group,
    station_of,
    ticket_card,
)

pytestmark = pytest.mark.browser

WAIT_MS = 15000  # a loaded CI machine: the recall's toast once took over 5 s


def test_kds_remembers_its_sound_and_confirms_bump_and_recall(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    station = station_of(menu, product)
    first = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)

    kds = open_app(context, edge, f"/kds/?station={station}", edge.tokens["kds"])
    expect(ticket_card(kds, first["number"])).to_be_visible(timeout=WAIT_MS)
    sound = kds.get_by_test_id("sound")
    expect(sound).to_have_text("Aktifkan suara")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")

    # A reload (power cut, browser restart) keeps the sound on for this station's screen.
    kds.reload()
    sound = kds.get_by_test_id("sound")
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_have_text(re.compile("^Suara aktif"))
    kds.get_by_test_id("station").click()  # any touch lets the browser start the audio
    expect(sound).to_have_text("Suara aktif")
    assert kds.evaluate("document.body.dataset.lastBeep") is None
    second = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    expect(ticket_card(kds, second["number"])).to_be_visible(timeout=WAIT_MS)
    assert kds.evaluate("document.body.dataset.lastBeep") is not None  # chimed with no new tap

    # Another station's screen has its own setting.
    other = "bar" if station != "bar" else "kitchen"
    other_kds = open_app(context, edge, f"/kds/?station={other}", edge.tokens["kds"])
    expect(other_kds.get_by_test_id("sound")).to_have_attribute("aria-pressed", "false")
    other_kds.close()

    # Bump: the ticket goes and the screen says which one; recall brings it back, outlined.
    ticket = ticket_card(kds, second["number"])
    ticket.get_by_test_id("bump").click()
    toast = kds.get_by_test_id("kds-toast")
    expect(toast).to_have_text(f"#{second['number']} selesai – Panggil ulang untuk mengembalikan",
                               timeout=WAIT_MS)
    expect(ticket).to_have_count(0, timeout=WAIT_MS)
    shoot(kds, "kds-bumped")
    kds.get_by_test_id("recall").click()
    expect(toast).to_have_text(f"#{second['number']} dipanggil ulang", timeout=WAIT_MS)
    expect(ticket).to_be_visible()
    expect(ticket).to_have_attribute("data-flash", "")
    expect(ticket).to_contain_text("Dipanggil ulang")
    expect(toast).to_be_hidden(timeout=WAIT_MS)  # it goes by itself
    for number in (first["number"], second["number"]):
        ticket_card(kds, number).get_by_test_id("bump").click()
        expect(ticket_card(kds, number)).to_have_count(0, timeout=WAIT_MS)
