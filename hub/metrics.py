"""The hub's own figures on ``GET /metrics`` (Prometheus text format), per process.

What an operator watches for saturation (docs/operations.md, "Monitoring"):

* ``hub_http_requests_total{method,route,status}`` and
  ``hub_http_request_duration_seconds{method,route}`` (histogram): ``route`` is the route
  template (``/api/v1/outlets/{outlet_id}``), never the raw path, so series stay bounded
  (a path no route matches is answered 404 before the middleware and not counted);
* ``hub_http_in_flight_requests``, ``hub_http_queued_requests``, ``hub_http_in_flight_limit``
  and ``hub_http_shed_total`` (``hub.overload``);
* ``hub_db_pool_connections{pool,state}`` (``in_use`` / ``parked``, kept by the fast reads
  between reads / ``idle``) and
  ``hub_db_pool_max_connections{pool}`` for each pool (``app``, ``system``, ``read``);
* ``hub_db_read_sessions_total{target}``: read-only tenant sessions on the ``replica``, on the
  ``primary`` (no replica, or read-your-writes) and ``fallback`` (the replica did not answer);
* ``hub_ingest_batches_total{result}``: sync push batches ``applied``, ``refused`` (4xx) or
  ``failed`` (5xx); ``hub_sync_events_total`` and ``hub_sync_refusals_total`` come from
  ``hub.api.sync``.

Gauges that mirror state (pools, queue) are read when Prometheus scrapes, not updated per
request. ``CONTENT_TYPE`` is what ``/metrics`` answers with on both apps: the text format
0.0.4 with one ``charset`` (Litestar adds it to any ``text/*`` type, so it is not written
here; ``prometheus_client.CONTENT_TYPE_LATEST`` already carries one, and the two made a
header Prometheus 3 refuses to scrape).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "PUSH_ROUTE", "HubMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4"
PUSH_ROUTE = "/api/v1/sync/push"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10)


class HubMetrics:
    """Prometheus metrics of one app instance (own registry: several apps per process in tests)."""

    def __init__(self, state: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("hub_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("hub_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=_LATENCY_BUCKETS)
        self.batches = Counter("hub_ingest_batches_total", "Sync push batches by outcome",
                               ["result"], registry=self.registry)
        self.registry.register(_StateCollector(state))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if route == PUSH_ROUTE and method == "POST":
            result = "applied" if status < 400 else ("refused" if status < 500 else "failed")
            self.batches.labels(result).inc()


class _StateCollector(Collector):
    """Gauges read from the app's state at scrape time (the database may not be open yet)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def describe(self) -> list[Metric]:
        return []  # collected lazily: the database opens after the registry is made

    def collect(self) -> Iterator[Metric]:
        admission = getattr(self.state, "admission", None)
        if admission is not None:
            yield _gauge("hub_http_in_flight_requests", "Requests being handled",
                         admission.in_flight)
            yield _gauge("hub_http_queued_requests", "Requests waiting for a slot",
                         admission.queued)
            yield _gauge("hub_http_in_flight_limit",
                         "Requests handled at once before queueing (0 = no limit)",
                         admission.max_in_flight)
            shed = CounterMetricFamily("hub_http_shed", "Requests refused with 503 overloaded")
            shed.add_metric([], admission.shed)
            yield shed
        db = getattr(self.state, "db", None)
        if db is None:
            return
        connections = GaugeMetricFamily("hub_db_pool_connections",
                                        "Database connections of each pool by state",
                                        labels=["pool", "state"])
        limits = GaugeMetricFamily("hub_db_pool_max_connections",
                                   "Connections each pool may open (size + overflow)",
                                   labels=["pool"])
        for name, engine in db.engines().items():
            pool = engine.pool
            if not hasattr(pool, "checkedout"):
                continue
            # Connections the fast reads keep between reads (Database.parked) are checked out
            # of the pool but serve no request: a state of their own, not "in_use".
            parked = len(getattr(db, "parked", {}).get(engine, ()))
            connections.add_metric([name, "in_use"], pool.checkedout() - parked)
            connections.add_metric([name, "parked"], parked)
            connections.add_metric([name, "idle"], pool.checkedin())
            limits.add_metric([name], pool.size() + max(getattr(pool, "_max_overflow", 0), 0))
        yield connections
        yield limits
        reads = CounterMetricFamily("hub_db_read_sessions",
                                    "Read-only tenant sessions by where they ran",
                                    labels=["target"])
        for target, count in sorted(db.reads.counts.items()):
            reads.add_metric([target], count)
        yield reads


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
