"""The kiosk when the edge goes away at checkout (issue 13), in Chromium against a real edge
that is stopped: the customer is told plainly, may go to the counter, and an order held
while the edge was down expires (after ``?hold=`` seconds, at "order at the counter" or at
the idle reset, whichever comes first) and never reaches the edge once it is back. An edge
that *hangs* (a proxy takes the request and holds it: nothing answers) while the order is on its
way gets to that request only after the kiosk gave up, and refuses it by its ``place_by``."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_kiosk_screens import add_to_cart, open_kiosk, orders_on
from tests.ui.test_screens import demo_menu, product_with_required_group, settle

pytestmark = pytest.mark.browser
# Only the test marked service_worker reloads a screen while the edge is away; the others
# run without the service worker (tests/ui/conftest.py).
SERVICE_WORKERS = "block"

WAIT_MS = 5000


def to_review(page: Any, menu: dict, product: dict, groups: list[dict]) -> None:
    page.get_by_test_id("attract").click()
    add_to_cart(page, menu, product, groups)
    page.get_by_test_id("view-cart").click()
    page.get_by_test_id("checkout").click()
    page.get_by_test_id("type-takeaway").click()
    expect(page.get_by_test_id("review")).to_be_visible()


def new_orders(edge: EdgeServer, before: set[str]) -> list[dict[str, Any]]:
    """The edge's orders that were not there when the test began (the edge is the module's)."""
    return [o for o in orders_on(edge) if o["id"] not in before]


def order_posts(page: Any) -> list[str]:
    """The Idempotency-Key of every POST /api/v1/orders the page sends, as it sends it."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/orders") else None)
    return sent


@pytest.mark.service_worker
def test_held_order_expires_goes_to_the_counter_or_leaves_with_the_customer_and_is_never_sent(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge  # stopped and started again here: it ends serving, as it began
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    before = {o["id"] for o in orders_on(edge)}

    # The kiosk's hold and idle timers are run ahead on Playwright's clock where the test only
    # waited for them; elsewhere its time flows as usual.
    context.clock.install()

    # 1. The edge is gone when the customer places: told plainly, with a deadline.
    page = open_kiosk(context, edge, "?hold=6&idle=60")
    posts = order_posts(page)
    to_review(page, menu, product, groups)
    edge.stop()
    page.get_by_test_id("place-order").click()
    held = page.get_by_test_id("kiosk-held")
    expect(held).to_be_visible(timeout=WAIT_MS)
    expect(held).to_contain_text("Pesanan Anda belum terkirim")
    expect(held).to_contain_text("tidak akan dibuat")
    expect(page.get_by_test_id("held-counter")).to_have_text("Pesan di kasir saja")
    expect(page.get_by_test_id("reconnecting")).to_have_count(0)  # no overlay over the message
    shoot(page, "kiosk-held")
    # A reload meanwhile keeps the same held order and its deadline.
    page.reload()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    page.clock.run_for(6000)  # the 6 s hold, the edge still down
    gone = page.get_by_test_id("kiosk-gone")
    expect(gone).to_be_visible(timeout=10000)
    sent = len(posts)
    expect(gone).to_have_attribute("data-why", "expired")
    expect(gone).to_contain_text("Pesanan Anda tidak terkirim")
    expect(gone).to_contain_text("Silakan pesan di kasir")
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None
    shoot(page, "kiosk-not-sent")
    page.get_by_role("button", name="Selesai").click()
    # The attract screen says the kiosk cannot take orders right now.
    banner = page.get_by_test_id("kiosk-offline")
    expect(banner).to_be_visible(timeout=WAIT_MS)
    expect(banner).to_contain_text("pesan di kasir")
    shoot(page, "kiosk-offline-banner")

    # The edge comes back: the expired order is not sent.
    edge.start()
    expect(banner).to_be_hidden(timeout=WAIT_MS)

    # 2. "Order at the counter" drops the held order at once.
    page.goto(f"{edge.base_url}/kiosk/?hold=120&idle=60")
    to_review(page, menu, product, groups)
    assert len(posts) == sent, "the expired order was sent again"
    edge.stop()
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("held-counter").click()
    expect(page.get_by_test_id("kiosk-gone")).to_have_attribute("data-why", "counter")
    sent = len(posts)
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None
    page.get_by_role("button", name="Selesai").click()

    # 3. The customer walks away from the held screen: the idle reset drops it.
    edge.start()
    page.goto(f"{edge.base_url}/kiosk/?hold=120&idle=3")
    expect(page.get_by_test_id("attract")).to_be_visible()
    assert len(posts) == sent, "the order given up for the counter was sent again"
    edge.stop()  # before the customer starts: the kiosk keeps working from its menu
    to_review(page, menu, product, groups)
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    page.clock.run_for(3000)  # 3 s untouched
    expect(page.get_by_text("Masih di sana?")).to_be_visible(timeout=WAIT_MS)
    page.clock.run_for(3000)  # and its 3 s countdown
    expect(page.get_by_test_id("attract")).to_be_visible(timeout=WAIT_MS)
    sent = len(posts)
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None

    # The edge comes back: the kiosk notices, and none of the three orders is ever sent.
    edge.start()
    expect(page.get_by_test_id("kiosk-offline")).to_be_hidden(timeout=WAIT_MS)
    page.clock.run_for(3000)  # a send loop left behind would wake and post within this
    page.reload()  # a reload finds nothing to send either
    expect(page.get_by_test_id("attract")).to_be_visible()
    page.clock.run_for(1500)
    page.wait_for_timeout(300)  # time for a post made just now to reach the edge
    assert new_orders(edge, before) == [], "a ghost order reached the edge"
    assert len(posts) == sent, "a dropped order was sent once the edge was back"

class StallingProxy:
    """A TCP proxy in front of the edge that can stall: while stalled it takes every byte the
    browser sends (the request leaves the kiosk) and holds it; released, it delivers what it
    held, even for connections the browser has closed since. To the kiosk it is an edge that
    accepted the request and hung; to the edge, a request that arrives late."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.loop = asyncio.new_event_loop()
        self.flowing = asyncio.Event()
        self.port = 0
        self.answers: list[bytes] = []  # every byte the edge sent back
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.flowing.set()
        server = self.loop.run_until_complete(asyncio.start_server(self._pipe, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()
        server.close()

    def stall(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.clear)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.set)

    def close(self) -> None:
        async def cancel_pipes() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_pipes(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _pipe(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        edge_in, edge_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        held: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def take() -> None:  # read the browser's bytes as they come, stalled or not
            try:
                while data := await client_in.read(65536):
                    held.put_nowait(data)
            except ConnectionError:
                pass
            held.put_nowait(None)

        async def deliver() -> None:
            while True:
                data = await held.get()
                await self.flowing.wait()  # after the get: a waiting connection holds too
                if data is None:
                    break
                edge_out.write(data)
                await edge_out.drain()
            await asyncio.sleep(5)  # let the edge answer a late request before closing
            edge_out.close()

        async def answer() -> None:
            try:
                while data := await edge_in.read(65536):
                    self.answers.append(data)
                    if self.flowing.is_set():
                        client_out.write(data)
                        await client_out.drain()
            except ConnectionError:
                pass
            client_out.close()

        await asyncio.gather(take(), deliver(), answer(), return_exceptions=True)


@pytest.fixture
def stalling_proxy(shared_edge: EdgeServer) -> Iterator[StallingProxy]:
    proxy = StallingProxy(shared_edge.port)
    yield proxy
    proxy.close()


def test_hung_edge_never_cooks_the_order_the_kiosk_gave_up(
        shared_edge: EdgeServer, stalling_proxy: StallingProxy, context: Any) -> None:
    edge, proxy = shared_edge, stalling_proxy
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    before = {o["id"] for o in orders_on(edge)}
    tickets_before = {t["id"] for t in edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]}
    page = context.new_page()
    page.set_viewport_size({"width": 768, "height": 1280})
    page.goto(f"http://127.0.0.1:{proxy.port}/kiosk/?hold=3&idle=60&token={edge.tokens['kiosk']}")
    expect(page.get_by_test_id("attract")).to_be_visible()
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append({**json.loads(r.post_data or "{}"),
                                                "key": r.headers.get("idempotency-key")})
            if r.method == "POST" and r.url.endswith("/api/v1/orders") else None)
    to_review(page, menu, product, groups)
    proxy.stall()  # the edge "hangs": requests leave the kiosk, nothing answers
    page.get_by_test_id("place-order").click()
    gone = page.get_by_test_id("kiosk-gone")
    expect(gone).to_be_visible(timeout=15000)  # the kiosk gave up after 3 s (real time)
    expect(gone).to_have_attribute("data-why", "expired")
    given_up = datetime.now(UTC)
    assert bodies and all(b["key"] == bodies[0]["key"] for b in bodies), bodies
    assert all(datetime.fromisoformat(b["place_by"]) < given_up for b in bodies), bodies
    assert new_orders(edge, before) == []  # nothing reached it yet
    # The edge gets the held request(s) now, after the kiosk gave up, and refuses each of them.
    proxy.release()
    settle(page, lambda: b"".join(proxy.answers).count(b"order_deadline_passed") >= len(bodies),
           "the edge's answer to every held request")
    assert new_orders(edge, before) == [], "a ghost order reached the edge"
    tickets = edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
    assert [t for t in tickets if t["id"] not in tickets_before] == []
    # The edge answers again, and the kiosk takes the next customer's order normally.
    page.get_by_role("button", name="Selesai").click()
    expect(page.get_by_test_id("kiosk-offline")).to_be_hidden(timeout=WAIT_MS)
    to_review(page, menu, product, groups)
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-number")).to_be_visible(timeout=WAIT_MS)
    assert len(new_orders(edge, before)) == 1


def test_held_order_is_sent_once_when_the_edge_is_back_in_time(
        shared_edge: EdgeServer, context: Any) -> None:
    """The other side of the deadline: the customer waits, the edge returns within it, and
    the same held order (one key) is placed once."""
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    before = {o["id"] for o in orders_on(edge)}
    page = open_kiosk(context, edge, "?hold=120&idle=60")
    keys: list[str] = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/orders") else None)
    to_review(page, menu, product, groups)
    edge.stop()
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    left = page.get_by_test_id("held-left").inner_text()
    assert left.startswith(("1:", "2:0")), left  # the time left is shown, counting down from 2:00
    edge.start()
    number = page.get_by_test_id("order-number")
    expect(number).to_be_visible(timeout=15000)
    new = new_orders(edge, before)
    assert len(new) == 1 and new[0]["number"] == int(number.inner_text())
    assert len(set(keys)) == 1 and keys[0]
