"""The edge prunes old live events at start and hourly, keeping recent ones for screens."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import httpx


def test_old_live_events_are_pruned_and_recent_ones_kept(edge_server_factory):
    edge = edge_server_factory(start=False, env={"POS_EDGE_LIVE_EVENT_RETENTION_HOURS": "24"})
    db = sqlite3.connect(edge.data_dir / "edge.db")
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with db:
        db.executemany(
            "INSERT INTO live_events (topic, station, type, data, created_at) VALUES (?, ?, ?, ?, ?)",
            [("orders", None, "order.status", "{}", old)] * 5 + [("orders", None, "order.status", "{}", recent)] * 2)
    edge.start()
    left = None
    for _ in range(50):  # the edge may publish events of its own at start: look only at ours
        left = db.execute("SELECT created_at FROM live_events WHERE created_at <= ?",
                          (recent,)).fetchall()
        if len(left) == 2:
            break
        time.sleep(0.1)
    db.close()
    assert [row[0] for row in left] == [recent, recent]
    assert httpx.get(f"{edge.base_url}/api/health").status_code == 200


def test_old_idempotency_keys_are_pruned_and_recent_ones_kept(edge_server_factory):
    edge = edge_server_factory(start=False, env={"POS_EDGE_IDEMPOTENCY_KEY_RETENTION_DAYS": "30"})
    db = sqlite3.connect(edge.data_dir / "edge.db")
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    recent = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    with db:
        db.executemany("INSERT INTO idempotency_keys (device_id, key, request_hash, order_id,"
                       " created_at) VALUES ('d', ?, 'h', 'o', ?)",
                       [("old-order", old), ("recent-order", recent)])
        db.executemany("INSERT INTO payment_idempotency_keys (device_id, key, request_hash,"
                       " order_id, payment_id, created_at) VALUES ('d', ?, 'h', 'o', 'p', ?)",
                       [("old-payment", old), ("recent-payment", recent)])
        db.executemany("INSERT INTO payment_attempt_keys (device_id, key, request_hash,"
                       " attempt_id, created_at) VALUES ('d', ?, 'h', 'a', ?)",
                       [("old-attempt", old), ("recent-attempt", recent)])
    edge.start()
    keys: list[str] = []
    for _ in range(50):
        keys = sorted(row[0] for row in db.execute(
            "SELECT key FROM idempotency_keys UNION ALL SELECT key FROM payment_idempotency_keys"
            " UNION ALL SELECT key FROM payment_attempt_keys"))
        if not {"old-order", "old-payment", "old-attempt"} & set(keys):
            break
        time.sleep(0.1)
    db.close()
    assert keys == ["recent-attempt", "recent-order", "recent-payment"]
