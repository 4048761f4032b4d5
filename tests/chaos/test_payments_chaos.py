"""QRIS payments under chaos (tests/chaos/payments.py): webhooks lost and duplicated, sync
faults, the gateway down or losing a create's reply, the edge and the hub killed; at the end
the edge, the hub and the fake gateway's ledger agree exactly. And a confirmation relayed by
the hub reaches the cashier's live stream when the box applies it, not at its next heartbeat.

The quick runs are part of the suite; the 1,000-payment runs the issue asks for are marked
slow (``pytest tests/chaos -m slow``; by hand ``python -m tests.chaos.payments --seeds 1
--payments 1000``). A failing run's message carries its seed and the command that replays it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.chaos.harness import RunResult
from tests.chaos.payments import PaymentRun, payments_run, replay, run_payments

pytestmark = pytest.mark.postgres

QUICK_PAYMENTS = 36


@pytest.fixture(scope="module")
def midtrans_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaymentRun]:
    """The quick Midtrans chaos run, checked at its end; its healed processes then serve the
    stream test too (one set-up of hub, proxy, edge and gateway instead of two)."""
    # 36 payments: each seeded kind of trouble (kills, gateway down, a lost create reply) and
    # dropped and duplicated webhooks all come within them; the slow runs make a thousand.
    with payments_run(1, QUICK_PAYMENTS, gateway="midtrans", workers=9, chaos_gap=2.0,
                      base_dir=tmp_path_factory.mktemp("qris")) as run:
        yield run


def check(result: RunResult, gateway: str, payments: int) -> None:
    assert result.ok, (f"seed {result.seed} failed: {result.problems}\n"
                       f"replay: {replay(result, gateway)}\nlogs kept in {result.workdir}")
    figures = result.figures
    assert figures["qris_paid_edge"] == figures["qris_paid_hub"] == figures["gateway_settled"] \
        == result.driver["paid_on_gateway"] == payments, figures
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures


def hostile(result: RunResult) -> None:
    """The run really met every kind of fault it claims to survive."""
    figures, chaos = result.figures, result.chaos
    assert figures["webhooks_dropped"] > 0, figures  # the poller (or nothing) had to do it
    assert figures["webhook_deliveries"] > figures["webhooks"] - figures["webhooks_dropped"], \
        figures  # some duplicated (or retried)
    stats = result.proxy.get("stats", {})
    assert sum(stats.get(k, 0) for k in ("drop_response", "duplicate", "drop_request",
                                         "cut_request", "cut_response")) > 0, stats
    assert chaos["edge_kills"] > 0 and chaos["hub_kills"] > 0 and chaos["gateway_down"] > 0, chaos
    assert chaos["lost_create_reply"] > 0, chaos


def test_quick_qris_chaos_midtrans(midtrans_run: PaymentRun) -> None:
    result = midtrans_run.result
    print(json.dumps(result.as_dict()))
    check(result, "midtrans", QUICK_PAYMENTS)
    hostile(result)


@pytest.mark.slow
@pytest.mark.parametrize("gateway", ["midtrans", "xendit"])
def test_thousand_qris_payments_under_chaos(gateway: str, tmp_path: Path) -> None:
    result = run_payments(3, 1000, gateway=gateway, workers=4, base_dir=tmp_path,
                          drain_timeout=1800)
    print(json.dumps(result.as_dict()))
    check(result, gateway, 1000)
    hostile(result)


def test_a_relayed_confirmation_wakes_the_cashier_stream(midtrans_run: PaymentRun) -> None:
    """The gateway's status API is down, so only the webhook relayed by the hub can confirm.
    The stream's heartbeat is 120 s: the paid frame must come before any heartbeat, i.e.
    because applying the feed page woke the stream (before the fix it waited for the beat)."""
    cluster, fake = midtrans_run.cluster, midtrans_run.fake
    assert cluster is not None and fake is not None, midtrans_run.result.problems
    assert cluster.edge is not None and cluster.proxy is not None
    # After the chaos run: a clean network and every webhook delivered, once.
    cluster.heal()
    fake.faults(down=False, delay_creates=0, webhook_drop=0, webhook_duplicate=0)
    with cluster.edge_client() as device:
        login = device.post("/api/v1/auth/login", json={"pin": "1357"})
        assert login.status_code == 200, login.text
        staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
        menu = device.get("/api/v1/menu").json()
        plain = next(p for p in menu["products"] if not p["modifier_group_ids"])
        order = device.post("/api/v1/orders", headers=staff, json={
            "type": "takeaway", "lines": [{"product_id": plain["id"], "qty": 1}]}).json()
        made = device.post(f"/api/v1/orders/{order['id']}/payment-attempts", headers=staff,
                           json={"method": "qris", "amount": order["total"]})
        assert made.status_code == 201 and made.json()["mode"] == "gateway", made.text
        attempt = made.json()
        after = device.get(f"/api/v1/payment-attempts/{attempt['id']}",
                           headers=staff).json()["live_id"]
    fake.faults(down=True)  # the edge's poller now learns nothing from the gateway
    url = (cluster.edge.url.replace("http://", "ws://") + "/api/v1/stream?topics=orders"
           f"&heartbeat=120&after={after}&token={cluster.tokens['cashier']}")
    with ws_connect(url, open_timeout=30) as stream:
        paid = httpx.post(f"{fake.base_url}/_fake/v2/{attempt['gateway_order_id']}/pay",
                          timeout=30)
        assert paid.status_code == 200, paid.text
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 100  # < the 120 s heartbeat
        while time.monotonic() < deadline:
            try:
                frame = json.loads(stream.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            seen.append(frame)
            if frame.get("type") == "heartbeat":
                break
            data = frame.get("data") or {}
            if frame.get("type") == "payment_attempt" and data.get("id") == attempt["id"] \
                    and data.get("status") == "paid":
                break
    kinds = [(f.get("type"), (f.get("data") or {}).get("status")) for f in seen]
    assert ("payment_attempt", "paid") in kinds, kinds
    assert ("heartbeat", None) not in kinds, kinds
    notices = [w for w in fake.ledger()["webhooks"]
               if w["payload"].get("order_id") == attempt["gateway_order_id"]]
    assert any(d["status"] == 200 for w in notices for d in w["deliveries"]), notices
