"""Helpers for the kitchen, shift and printing tests: the real edge process of the
``shared_edge`` / ``edge_server`` fixtures, and clients that talk to it over HTTP and
WebSocket the way the screens do."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from websockets.sync.client import connect as ws_connect

from tests.edge.edge_server import EdgeServer


class Edge:
    """The core helpers' EdgeServer seen the way these tests use it (urls and tokens by role)."""

    def __init__(self, server: EdgeServer) -> None:
        self.server = server
        self.url = server.base_url
        self.data_dir = server.data_dir
        self.kiosk = server.tokens["kiosk"]
        self.kds = server.tokens["kds"]
        self.cashier_device = server.tokens["cashier"]

    def pair(self, role: str, name: str) -> str:
        return self.server.pair(role, name)

    def start(self) -> Edge:
        self.server.start()
        return self

    def stop(self, hard: bool = False) -> None:
        """SIGTERM (clean shutdown) or SIGKILL (power cut) the process."""
        if hard:
            self.server.kill()
        else:
            self.server.stop()

    def login(self, role: str, device_token: str | None = None) -> str:
        """A staff JWT for the demo staff member of ``role`` on a device (default: the till)."""
        return self.server.login_pin(self.server.pins[role], device_token or self.cashier_device)

    def new_till(self, name: str) -> tuple[str, str, str]:
        """A freshly paired cashier device with its cashier and manager logged in on it."""
        device = self.pair("cashier", name)
        return device, self.login("cashier", device), self.login("manager", device)


def call(base_url: str, method: str, path: str, token: str | None, body: Any = None,
         expect: int | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = httpx.request(method, f"{base_url}{path}", json=body, headers=headers, timeout=15)
    if expect is not None:
        assert res.status_code == expect, f"{method} {path} -> {res.status_code} {res.text}"
    elif res.status_code >= 400:
        raise AssertionError(f"{method} {path} -> {res.status_code} {res.text}")
    return res.json() if res.content else None


def products_by_station(base_url: str, token: str) -> dict[str, list[dict[str, Any]]]:
    """Available products without required modifiers, grouped by their category's station."""
    menu = call(base_url, "GET", "/api/v1/menu", token)
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    station_of = {c["id"]: c["station"] for c in menu["categories"]}
    found: dict[str, list[dict[str, Any]]] = {}
    for product in menu["products"]:
        required = any(groups[g]["min_choices"] > 0 for g in product["modifier_group_ids"]
                       if g in groups)
        if product["available"] and not required:
            found.setdefault(station_of[product["category_id"]], []).append(product)
    return found


def place_order(base_url: str, token: str, lines: list[tuple[dict[str, Any], int]],
                **extra: Any) -> dict[str, Any]:
    body = {"type": "dine_in", **extra,
            "lines": [{"product_id": p["id"], "qty": qty} for p, qty in lines]}
    return call(base_url, "POST", "/api/v1/orders", token, body, expect=201)


class Screen:
    """A kitchen screen: a WebSocket stream client that remembers the last id it saw."""

    def __init__(self, base_url: str, token: str, topics: str = "kitchen",
                 station: str | None = None, after: int = 0, heartbeat: float = 0.5) -> None:
        query = f"token={token}&topics={topics}&after={after}&heartbeat={heartbeat}"
        if station:
            query += f"&station={station}"
        self._connection = ws_connect(
            base_url.replace("http://", "ws://") + f"/api/v1/stream?{query}", open_timeout=10)
        self.ws = self._connection.__enter__()
        self.last_id = after
        self.heartbeats = 0

    def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        frame = json.loads(self.ws.recv(timeout=timeout))
        if isinstance(frame.get("id"), int):
            assert frame["id"] > self.last_id, f"event {frame['id']} after {self.last_id}"
            self.last_id = frame["id"]
        elif frame.get("type") == "heartbeat":
            self.heartbeats += 1
        return frame

    def events(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The next ``count`` events (heartbeats skipped)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            frame = self.receive(max(0.1, deadline - time.monotonic()))
            if "id" in frame:
                found.append(frame)
        return found

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Events arriving within ``seconds`` (expected: none); heartbeats are fine."""
        found = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.receive(left)
            except TimeoutError:
                break
            if "id" in frame:
                found.append(frame)
        return found

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> Screen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
