"""common/clock.js, the edge's clock as the screens read it for ages and expiries (the
screens themselves: tests/ui/test_screen_clocks.py), run in Chromium as a plain module."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.test_money_js import static_ui  # noqa: F401 - the fixture serving kiosk-ui

pytestmark = pytest.mark.browser


def test_clock_js_learns_the_edges_clock_from_date_headers(chromium: Any, static_ui: str) -> None:
    """The offset narrows with every answer, a cached replay is ignored, and a clock set
    meanwhile starts it over."""
    page = chromium.new_page()
    page.goto(f"{static_ui}/index.html")
    seen = page.evaluate("""async () => {
        const c = await import('/common/clock.js?t=' + Math.random());  // its own instance
        const answer = (edgeMs, cached) => ({ headers: new Headers({
            Date: new Date(edgeMs).toUTCString(), ...(cached ? { "X-Pos-Cached": "1" } : {}) }) });
        const out = [c.edgeClockSkew()];
        // The edge is 600,300 ms ahead; answers take 40 ms; the Date header has whole seconds.
        const skew = 600300;
        for (const at of [1_000_000, 1_000_450, 1_000_820, 1_001_170]) {
            c.learnEdgeClock(answer(at + 20 + skew), at, at + 40);
            out.push(c.edgeClockSkew());
        }
        c.learnEdgeClock(answer(5_000, true), 1_002_000, 1_002_040);  // a replay from the cache
        out.push(c.edgeClockSkew());
        c.learnEdgeClock(answer(2_000_000 + 20 - 90_000), 2_000_000, 2_000_040);  // set back
        out.push(c.edgeClockSkew());
        return out;
    }""")
    page.close()
    assert seen[0] == 0  # nothing learnt yet
    # Known to within the Date header's staleness (uvicorn refreshes it once a second, and
    # truncates it): 2.5 s wide at most, the middle taken.
    assert all(abs(s - 600_300) <= 1_300 for s in seen[1:5]), seen
    assert abs(seen[4] - 600_300) <= abs(seen[1] - 600_300)  # later answers narrowed it
    assert seen[5] == seen[4]  # the cached replay changed nothing
    assert abs(seen[6] - (-90_000)) <= 1_300  # the edge's clock went back: learnt anew


def test_clock_js_shows_times_in_the_outlets_zone(chromium: Any, static_ui: str) -> None:
    """Times of day in the outlet's zone; an unknown zone falls back to the tablet's, never
    an error that would blank the screen."""
    page = chromium.new_page()
    page.goto(f"{static_ui}/index.html")
    shown = page.evaluate("""async () => {
        const c = await import('/common/clock.js?t=' + Math.random());
        const at = "2026-12-01T05:15:00+00:00", hm = { hour: "2-digit", minute: "2-digit",
                                                        hourCycle: "h23" };
        c.setOutletTimeZone("Asia/Jakarta");
        const jakarta = c.outletTime(at, "en-GB", hm);
        c.setOutletTimeZone("Asia/Makassar");
        const makassar = c.outletTime(at, "en-GB", hm);
        c.setOutletTimeZone("Not/A_Zone");
        const fallback = c.outletTime(at, "en-GB", { ...hm, timeZone: "UTC" });
        return [jakarta, makassar, fallback];
    }""")
    page.close()
    assert shown == ["12:15", "13:15", "05:15"]
