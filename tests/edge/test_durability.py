"""kill -9 in the middle of a burst of orders: every order a client saw acknowledged (201)
survives the restart, the outbox has no gap and its hash chain verifies, and retrying the
unanswered requests with their Idempotency-Keys creates each order at most once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid

import httpx

from edge import outbox
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import THREE_LINES


async def burst(edge: EdgeServer, keys: list[str], kill_after: float) -> dict[str, str]:
    """POST orders with 32 clients until killed; return {key: order id} of the 201s."""
    acknowledged: dict[str, str] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)
    headers = {"Authorization": f"Bearer {edge.tokens['kiosk']}"}
    limits = httpx.Limits(max_connections=32)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            key = queue.get_nowait()
            try:
                res = await client.post("/api/v1/orders", json=THREE_LINES,
                                        headers={**headers, "Idempotency-Key": key})
            except httpx.HTTPError:
                return  # the server died under us
            if res.status_code == 201:
                acknowledged[key] = res.json()["id"]

    async with httpx.AsyncClient(base_url=edge.base_url, limits=limits, timeout=10) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(32)]
        started = time.monotonic()
        while len(acknowledged) < 50 and time.monotonic() - started < 20:
            await asyncio.sleep(0.01)
        await asyncio.sleep(kill_after)
        edge.kill()
        await asyncio.gather(*workers)
    return acknowledged


def verify_journal(path: str) -> int:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        head = outbox.head(conn)
        rows = conn.execute("SELECT seq, body, prev_hash, hash FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert [r["seq"] for r in rows] == list(range(1, head["seq"] + 1))
    previous = outbox.genesis_hash(head["epoch"])
    for row in rows:
        assert row["prev_hash"] == previous
        assert outbox.chain_hash(previous, row["seq"], row["body"]) == row["hash"]
        previous = row["hash"]
    assert previous == head["hash"]
    return len(rows)


async def test_acknowledged_orders_survive_kill_9(edge_server: EdgeServer) -> None:
    keys = [str(uuid.uuid4()) for _ in range(5000)]
    acknowledged = await burst(edge_server, keys, kill_after=0.3)
    assert len(acknowledged) >= 50
    assert edge_server.proc is None

    await asyncio.to_thread(edge_server.start)
    headers = {"Authorization": f"Bearer {edge_server.tokens['cashier']}"}
    async with httpx.AsyncClient(base_url=edge_server.base_url, headers=headers, timeout=10) as client:
        for order_id in acknowledged.values():
            res = await client.get(f"/api/v1/orders/{order_id}")
            assert res.status_code == 200, order_id
            assert res.json()["status"] == "in_kitchen"
    db_path = str(edge_server.data_dir / "edge.db")
    events = verify_journal(db_path)
    conn = sqlite3.connect(db_path)
    try:
        stored = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        numbers = [r[0] for r in conn.execute("SELECT number FROM orders ORDER BY number")]
    finally:
        conn.close()
    assert stored >= len(acknowledged)
    assert numbers == list(range(1, stored + 1))  # queue numbers without holes
    assert events >= 3 * stored  # order event + one kitchen event per station (kitchen, bar)

    # Clients retry what they never got an answer for: each key still makes one order.
    kiosk = {"Authorization": f"Bearer {edge_server.tokens['kiosk']}"}
    async with httpx.AsyncClient(base_url=edge_server.base_url, headers=kiosk, timeout=10) as client:
        for key in keys[:len(acknowledged) + 40]:
            res = await client.post("/api/v1/orders", json=THREE_LINES, headers={"Idempotency-Key": key})
            assert res.status_code in (200, 201)
            if key in acknowledged:
                assert (res.status_code, res.json()["id"]) == (200, acknowledged[key])
    conn = sqlite3.connect(db_path)
    try:
        per_key = conn.execute("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM idempotency_keys").fetchone()
        orders_now = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    finally:
        conn.close()
    assert per_key[0] == per_key[1] == orders_now
    verify_journal(db_path)
