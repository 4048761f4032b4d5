"""The QR's SVG is rendered once per QR string, in a worker thread, and cached: the API
answers exactly ``render_svg(qr_string)`` on create, replay and GET, and the event loop never
runs segno."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from demo.fake_gateways import free_port
from edge.payments import static_qris
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import place
from tests.edge.test_payments_gateway import configure, start_attempt
from tests.edge.test_payments_offline import STATIC


def test_rendered_once_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = static_qris.render_svg

    def counting(payload: str) -> str:
        calls.append(threading.get_ident())
        return real(payload)

    monkeypatch.setattr(static_qris, "render_svg", counting)
    payload = static_qris.dynamic_from_static(STATIC, 43_210)

    async def twice() -> tuple[str, str, int]:
        first = await static_qris.svg_for(payload)
        second = await static_qris.svg_for(payload)
        return first, second, threading.get_ident()

    assert static_qris.cached_svg(payload) is None
    first, second, loop_thread = asyncio.run(twice())
    assert first == second == real(payload) and first.startswith("<svg")
    assert len(calls) == 1 and calls[0] != loop_thread  # once, in a worker thread
    assert static_qris.cached_svg(payload) == first


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(static_qris, "SVG_CACHE_SIZE", 3)
    monkeypatch.setattr(static_qris, "render_svg", lambda payload: f"<svg>{payload}</svg>")
    payloads = [f"bounded-{n}" for n in range(5)]

    async def render_all() -> None:
        for payload in payloads:
            await static_qris.svg_for(payload)

    asyncio.run(render_all())
    assert len(static_qris._svgs) <= 3
    assert static_qris.cached_svg(payloads[0]) is None
    assert static_qris.cached_svg(payloads[-1]) == f"<svg>{payloads[-1]}</svg>"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("qr-render") / "edge")
    server.start()
    yield server
    server.stop()


def test_api_answers_the_same_svg_on_create_replay_and_get(edge: EdgeServer) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # gateway unreachable: the static QR
    configure(edge, "xendit", nobody, "xnd_development_x", "--static-qris", STATIC)
    cashier = edge.login("cashier")
    order = place(edge)
    created = start_attempt(edge, order["id"], cashier, order["total"], key="qr-render-1")
    assert created.status_code == 201, created.text
    attempt = created.json()
    expected = static_qris.render_svg(attempt["qr_string"])
    assert attempt["qr_svg"] == expected and attempt["mode"] == "static"
    replay = start_attempt(edge, order["id"], cashier, order["total"], key="qr-render-1")
    assert replay.status_code == 200 and replay.json()["id"] == attempt["id"]
    assert replay.json()["qr_svg"] == expected
    got = edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}", cashier)
    assert got["qr_svg"] == expected and got["status"] == "pending"
    listed = edge.call("GET", f"/api/v1/orders/{order['id']}/payment-attempts", cashier)
    assert [a["qr_svg"] for a in listed["items"]] == [""]  # the list never carries QRs
    cancelled = edge.call("POST", f"/api/v1/payment-attempts/{attempt['id']}/cancel", cashier)
    assert cancelled["qr_svg"] == ""
    after = edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}", cashier)
    assert after["status"] != "pending" and after["qr_svg"] == ""
