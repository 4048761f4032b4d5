"""Lighthouse on the kiosk, the cashier and the head-office dashboard (issue 13): performance
at least 95 and accessibility 100, each app's first screen loaded cold (storage and cache
cleared) from a real edge and a real hub, with Lighthouse's default settings (a mid-range
phone on a slow 4G link, 4x CPU slowdown, simulated). Also printed: the compressed transfer of
the app itself as Lighthouse saw it (HTML, CSS, scripts, icon; not the API's data); the
per-app transfer budgets are asserted by tests/ui/test_static_serving.py.

Lighthouse is the real one from npm (tests/ui/lighthouse_support.py; the test skips, saying
why, where Node or npm is missing). A performance score depends on the machine: an app under
95 is measured again, up to three times in all, and its best run counts (a loaded machine
only ever makes a page slower). Every run's figures are printed in the test summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.edge.edge_server import EdgeServer
from tests.hub import conftest as hubfx
from tests.ui import lighthouse_support

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

MIN_PERFORMANCE = 0.95
MIN_ACCESSIBILITY = 1.0
RUNS = 3


@pytest.fixture(scope="module")
def lighthouse() -> None:
    if reason := lighthouse_support.install():
        pytest.skip(f"Lighthouse is not available: {reason}")


def line(app: str, s: dict[str, Any]) -> str:
    m = {k: ("–" if v is None else f"{v:.0f}") for k, v in s["metrics"].items() if k != "cls"}
    cls = s["metrics"]["cls"]
    return (f"  {app:<9} performance {s['performance'] * 100:3.0f}  accessibility "
            f"{s['accessibility'] * 100:3.0f}  FCP {m['fcp']:>5} ms  LCP {m['lcp']:>5} ms  "
            f"TBT {m['tbt']:>4} ms  CLS {'–' if cls is None else f'{cls:.3f}'}  SI {m['si']:>5} ms  "
            f"app {s['appTransferBytes'] / 1024:4.1f} KB in {len(s['appRequests'])} requests  "
            f"({s['seconds']:.0f} s)" + (f"  error: {s['runtimeError']}" if s["runtimeError"] else ""))


def test_kiosk_cashier_and_dashboard_score_95_and_100(
        lighthouse: None, shared_edge: EdgeServer, hub_server: Any, record_property: Any) -> None:
    edge = shared_edge
    urls = {"kiosk": f"{edge.base_url}/kiosk/?token={edge.tokens['kiosk']}",
            "cashier": f"{edge.base_url}/cashier/?token={edge.tokens['cashier']}",
            "dashboard": f"{hub_server.base_url}/dashboard/"}
    runs: dict[str, list[dict[str, Any]]] = {app: [] for app in urls}
    todo = list(urls)
    for _ in range(RUNS):
        for app, summary in zip(todo, lighthouse_support.run([urls[a] for a in todo]), strict=True):
            if summary["runtimeError"] or summary["performance"] is None:  # e.g. no paint in time
                summary["performance"] = summary["accessibility"] = 0.0
            runs[app].append(summary)
        todo = [app for app in todo if max(s["performance"] for s in runs[app]) < MIN_PERFORMANCE]
        if not todo:
            break

    best = {app: max(r, key=lambda s: s["performance"]) for app, r in runs.items()}
    first = next(iter(best.values()))
    text = "\n".join([f"Lighthouse {first['lighthouse']} ({first['preset']}) in {first['userAgent']}"]
                     + [line(app, s) for app, r in runs.items() for s in r])
    record_property("ui_scores", text)
    print(text)
    for app, s in best.items():
        assert s["runtimeError"] is None, f"{app}: Lighthouse could not measure it: {s['runtimeError']}"
        assert s["performance"] >= MIN_PERFORMANCE, f"{app}: performance {s['performance']}\n{text}"
        assert s["accessibility"] >= MIN_ACCESSIBILITY, (
            f"{app}: accessibility {s['accessibility']}: {s['accessibilityFailures']}")
