"""mDNS advertisement and discovery on loopback, and the Prometheus metrics endpoint."""

from __future__ import annotations

import json
import re

from tests.edge.edge_server import EdgeServer, run_cli
from tests.edge.test_orders import place


def test_serve_advertises_and_discover_finds_it(edge_server_factory) -> None:
    edge = edge_server_factory(env={"POS_EDGE_ADVERTISE": "true",
                                    "POS_EDGE_ADVERTISE_INTERFACES": "127.0.0.1"})
    me = edge.call("GET", "/api/v1/me", edge.tokens["kiosk"])
    found = []
    for _ in range(3):  # mDNS is best effort: allow a couple of browse rounds
        out = run_cli("discover", "--timeout", "3", "--interface", "127.0.0.1", "--json").stdout
        found = [e for e in json.loads(out) if e["outlet_id"] == me["outlet"]["id"]]
        if found:
            break
    assert found, out
    assert found[0]["outlet_name"] == "Warung Demo Kemang" and found[0]["version"]
    assert found[0]["url"] == f"http://127.0.0.1:{edge.port}"


def test_metrics_count_requests_and_orders(shared_edge: EdgeServer) -> None:
    place(shared_edge)
    place(shared_edge)
    text = shared_edge.request("GET", "/metrics").text
    created = float(re.search(r"^edge_orders_created_total (\S+)$", text, re.MULTILINE).group(1))
    assert created >= 2
    assert re.search(r'^edge_http_requests_total\{method="POST",route="/api/v1/orders",status="201"\} '
                     r"(\d+\.\d+)$", text, re.MULTILINE)
    assert 'edge_http_request_seconds_bucket{le="0.02",method="POST",route="/api/v1/orders"}' in text
    backlog = float(re.search(r"^edge_outbox_backlog (\S+)$", text, re.MULTILINE).group(1))
    assert backlog >= 6  # nothing is syncing here: every event is still waiting
    health = shared_edge.call("GET", "/api/health")
    assert health["outbox_backlog"] == backlog
