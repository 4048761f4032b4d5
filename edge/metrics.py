"""Prometheus metrics of the edge process (``GET /metrics``), on the app's own registry.

Route labels use the route template (``/api/v1/orders/{order_id}``), never the raw path, so
the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from edge.connection_guard import ConnectionGuard

# The text format 0.0.4 that generate_latest writes, without a charset: Litestar appends
# "; charset=utf-8" to every text/* type, and prometheus_client's CONTENT_TYPE_LATEST carries
# one already (and names format 1.0.0): the doubled parameter fails a Prometheus 3 scrape.
CONTENT_TYPE_LATEST = "text/plain; version=0.0.4"

__all__ = ["CONTENT_TYPE_LATEST", "EdgeMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)


class EdgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("edge_http_requests_total", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("edge_http_request_seconds", "HTTP request latency by route",
                                 ["method", "route"], buckets=_LATENCY_BUCKETS,
                                 registry=self.registry)
        self.orders_created = Counter("edge_orders_created_total", "Orders created (not replays)",
                                      registry=self.registry)
        self.payments = Counter("edge_payments_total", "Payments taken by method", ["method"],
                                registry=self.registry)
        self.outbox_backlog = Gauge("edge_outbox_backlog", "Outbox events the hub has not acknowledged",
                                    registry=self.registry)
        self.logins_failed = Counter("edge_staff_logins_failed_total", "Wrong PINs",
                                     registry=self.registry)

    def watch_connections(self, guard: ConnectionGuard) -> None:
        """Export the serving process's connection counts (edge.connection_guard)."""
        self.registry.register(_ConnectionCollector(guard))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ConnectionCollector(Collector):
    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("edge_connections_open", "Open HTTP and WebSocket connections",
                                value=self._guard.open_connections)
        yield GaugeMetricFamily("edge_connection_clients", "Client addresses with an open connection",
                                value=len(self._guard.open_by_client))
        closed = CounterMetricFamily(
            "edge_connections_closed", "Connections the edge closed early: a client over its "
            "connection limit, or a request not received in time", labels=["reason"])
        for reason, count in sorted(self._guard.closed.items()):
            closed.add_metric([reason], count)
        yield closed
