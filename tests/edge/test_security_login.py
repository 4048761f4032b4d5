"""Security issue 9, H3: the staff PIN throttle, attacked through a real edge.

Each attack here went through on the old in-memory, per-device throttle: a cashier
alternating wrong guesses with their own PIN never met a 429, 300 parallel wrong PINs got
147 lookups, a restart forgot every failure and a kiosk token could try PINs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge import login_throttle
from edge.db import Database, connect
from shared.errors import TooManyRequests
from tests.edge.edge_server import EdgeServer
from tests.edge.staff_and_devices import pair

WRONG = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"]


@pytest.fixture
def edge_server(shared_edge: EdgeServer) -> Iterator[EdgeServer]:
    """One edge for the file (a start per test was most of its time), with no wrong PIN and
    no lock on record when each test begins, as on a fresh edge."""
    conn = connect(shared_edge.data_dir / "edge.db")
    try:
        conn.execute("BEGIN IMMEDIATE")
        login_throttle.clear(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    yield shared_edge


def login(edge: EdgeServer, device_token: str, pin: str) -> httpx.Response:
    return edge.request("POST", "/api/v1/auth/login", device_token, json={"pin": pin})


def test_own_pin_between_guesses_does_not_reset_the_count(edge_server: EdgeServer) -> None:
    till = edge_server.tokens["cashier"]
    own = edge_server.pins["cashier"]
    answers: list[int] = []
    for round_ in range(5):  # the attack: 4 wrong guesses, then the cashier's own PIN
        for pin in WRONG[round_ * 2:round_ * 2 + 4]:
            answers.append(login(edge_server, till, pin).status_code)
        answers.append(login(edge_server, till, own).status_code)
    wrong_checked = answers.count(401)
    assert wrong_checked == 5, answers  # the limit, however many right PINs come between
    assert 429 in answers
    refused = login(edge_server, till, own)  # the lock holds for the right PIN too
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["retry_after_seconds"] >= 1


def test_parallel_wrong_pins_get_at_most_the_limit_checked(edge_server: EdgeServer) -> None:
    till = edge_server.tokens["cashier"]
    # All in flight at once, 20 times the device's limit of 5: the old throttle checked about
    # half of them (147 of 300), this many would show it as surely; the rest only add 429s.
    guesses = 100

    async def attack() -> list[int]:
        limits = httpx.Limits(max_connections=guesses, max_keepalive_connections=guesses)
        async with httpx.AsyncClient(base_url=edge_server.base_url, timeout=60, limits=limits,
                                     headers={"Authorization": f"Bearer {till}"}) as client:
            async def one(i: int) -> int:
                # 2000-2099: no demo PIN among them
                res = await client.post("/api/v1/auth/login", json={"pin": f"{2000 + i:04d}"})
                return res.status_code
            return await asyncio.gather(*(one(i) for i in range(guesses)))

    counts = Counter(asyncio.run(attack()))
    assert counts[401] <= 5, counts
    assert counts[429] >= guesses - 5 and set(counts) <= {401, 429}, counts


def test_a_lock_survives_a_restart(edge_server: EdgeServer) -> None:
    till = edge_server.tokens["cashier"]
    for pin in WRONG[:5]:
        assert login(edge_server, till, pin).status_code == 401
    assert login(edge_server, till, edge_server.pins["cashier"]).status_code == 429
    edge_server.restart()
    res = login(edge_server, till, edge_server.pins["cashier"])
    assert res.status_code == 429, res.text
    assert res.json()["error"]["details"]["scope"] == "device"


def test_the_whole_box_locks_when_guesses_are_spread_over_devices(edge_server: EdgeServer) -> None:
    tills = [pair(edge_server, "cashier", f"till-{i}") for i in range(3)]
    for i, pin in enumerate(WRONG):  # 10 wrong PINs, no device reaches its own limit of 5
        assert login(edge_server, tills[i % 2] if i < 8 else tills[2], pin).status_code == 401
    res = login(edge_server, edge_server.tokens["cashier"], edge_server.pins["manager"])
    assert res.status_code == 429, res.text
    assert res.json()["error"]["details"]["scope"] == "outlet"


def test_no_staff_login_from_customer_facing_devices(edge_server: EdgeServer) -> None:
    board = pair(edge_server, "board", "order-board")
    for token in (edge_server.tokens["kiosk"], board):
        res = login(edge_server, token, edge_server.pins["manager"])
        assert res.status_code == 403, res.text
        assert res.json()["error"]["details"]["permission"] == "staff:login"
    # The board still shows its numbers; the staff-facing devices still log in.
    assert set(edge_server.call("GET", "/api/v1/board", board)) == {"preparing", "ready"}
    assert edge_server.login("manager") and edge_server.login("kitchen")


def _now_scope(db: Database, scope: str) -> dict[str, Any]:
    row = db.read_now(lambda c: c.execute("SELECT * FROM login_throttle WHERE scope = ?",
                                          (scope,)).fetchone())
    return dict(row) if row else {}


def test_lockouts_double_and_are_forgotten_after_a_quiet_day(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.db")
    policy = login_throttle.ThrottlePolicy(device_max=3, outlet_max=100, window_seconds=900,
                                           lockout_seconds=60, lockout_max_seconds=300)

    def wrong_pins(at: float) -> list[login_throttle.Lock]:
        locks: list[login_throttle.Lock] = []
        for _ in range(3):
            db.write_blocking(lambda c: login_throttle.reserve(c, "d1", policy, at))
            locks = db.write_blocking(lambda c: login_throttle.failed(c, "d1", policy, at))
        return locks

    clock = 1_000_000.0
    seen = []
    try:
        for _ in range(5):
            lock = wrong_pins(clock)[0]
            seen.append(lock.seconds)
            clock += lock.seconds - 1
            with pytest.raises(TooManyRequests):  # one second before the end it still holds
                db.write_blocking(partial(login_throttle.reserve, device_id="d1", policy=policy,
                                          now=clock))
            clock += 1
        assert seen == [60, 120, 240, 300, 300]
        assert _now_scope(db, "device:d1")["lockouts"] == 5
        clock += 86_400  # a quiet day: the next lock starts again at the first length
        assert wrong_pins(clock)[0].seconds == 60
        assert db.write_blocking(login_throttle.clear) == 2  # the recovery: every lock lifted
        db.write_blocking(partial(login_throttle.reserve, device_id="d1", policy=policy, now=clock))
    finally:
        db.close()
