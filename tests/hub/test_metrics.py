"""The hub's own figures on ``/metrics`` (issue 14) and the Content-Type both apps answer it
with (issue 13: a doubled ``charset`` made Prometheus 3 refuse the scrape).

Checked on real processes: the output is parsed by prometheus_client's text parser and, when
Debian's ``promtool`` is on PATH (package ``prometheus``), by ``promtool check metrics``;
histogram buckets are cumulative and end in ``+Inf == _count``; route labels are templates,
never a raw path with an id in it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.edge.edge_server import EdgeServer
from tests.hub.conftest import HubServer, TenantCtx

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _families(text: str) -> dict[str, object]:
    families = {}
    for family in text_string_to_metric_families(text):
        assert family.name not in families, f"{family.name} exposed twice"
        assert family.documentation, f"{family.name} has no HELP"
        families[family.name] = family
    return families


def _check_histograms(families: dict[str, object]) -> None:
    for family in families.values():
        if family.type != "histogram":  # type: ignore[attr-defined]
            continue
        buckets: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
        counts: dict[tuple, float] = {}
        for sample in family.samples:  # type: ignore[attr-defined]
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            if sample.name.endswith("_bucket"):
                buckets[labels].append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                counts[labels] = sample.value
        for labels, series in buckets.items():
            values = [value for _, value in sorted(series)]
            assert values == sorted(values), f"{family.name}{labels}: buckets not cumulative"
            assert sorted(series)[-1][0] == float("inf")
            assert values[-1] == counts[labels], f"{family.name}{labels}: +Inf != _count"


def _promtool(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, f"promtool check metrics: {done.stdout}{done.stderr}"


def test_hub_metrics_show_routes_pools_queue_and_batches(
        hub_server: HubServer, tenant_factory: Callable[..., TenantCtx]) -> None:
    tenant = tenant_factory()
    outlet = tenant.create_outlet("Metered")
    assert tenant.client.get(f"/api/v1/outlets/{outlet['id']}").status_code == 200
    assert tenant.client.get("/api/v1/outlets").status_code == 200
    assert tenant.client.get("/api/v1/no-such-route/123").status_code == 404
    push = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=b"x", timeout=30,
                      headers={"Authorization": "Bearer fpc_not-a-credential"})
    assert push.status_code == 401

    response = httpx.get(hub_server.base_url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    text = response.text
    families = _families(text)
    _check_histograms(families)
    _promtool(text)

    for name in ("hub_http_requests", "hub_http_request_duration_seconds",
                 "hub_http_in_flight_requests", "hub_http_queued_requests",
                 "hub_http_in_flight_limit", "hub_http_shed", "hub_db_pool_connections",
                 "hub_db_pool_max_connections", "hub_db_read_sessions", "hub_ingest_batches"):
        assert name in families, f"{name} missing"
    latency = families["hub_http_request_duration_seconds"]
    routes = {s.labels["route"] for s in latency.samples}  # type: ignore[attr-defined]
    assert "/api/v1/outlets/{outlet_id}" in routes and "/api/v1/outlets" in routes
    every_label = {v for f in families.values() for s in f.samples  # type: ignore[attr-defined]
                   for v in s.labels.values()}
    assert not any(outlet["id"] in value or "123" in value for value in every_label)
    pools = {(s.labels["pool"], s.labels["state"]) for s in
             families["hub_db_pool_connections"].samples}  # type: ignore[attr-defined]
    assert {("app", "in_use"), ("app", "idle"), ("system", "in_use")} <= pools
    batches = {s.labels["result"]: s.value for s in
               families["hub_ingest_batches"].samples  # type: ignore[attr-defined]
               if s.name == "hub_ingest_batches_total"}
    assert batches.get("refused", 0) >= 1
    reads = {s.labels["target"]: s.value for s in
             families["hub_db_read_sessions"].samples  # type: ignore[attr-defined]
             if s.name == "hub_db_read_sessions_total"}
    assert reads["primary"] >= 1  # the listing above, on the primary (no replica here)


def test_edge_metrics_content_type_has_one_charset(tmp_path: Path) -> None:
    edge = EdgeServer(tmp_path / "edge", pair=False)
    edge.start()
    try:
        response = httpx.get(edge.base_url + "/metrics", timeout=30)
    finally:
        edge.stop()
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    families = _families(response.text)
    assert "edge_http_requests" in families
    _check_histograms(families)
    _promtool(response.text)


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool not installed (Debian package prometheus)")
def test_promtool_refuses_a_broken_exposition() -> None:
    """The promtool check above can fail: a family exposed twice, or a lint problem."""
    for broken in ("# HELP x_total c\n# TYPE x_total counter\nx_total 1\n"
                   "# HELP x_total c\n# TYPE x_total counter\nx_total 2\n",
                   "# HELP x c\n# TYPE x counter\nx 1\n"):
        done = subprocess.run(["promtool", "check", "metrics"], input=broken,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode != 0, broken
