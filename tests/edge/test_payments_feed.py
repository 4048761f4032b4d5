"""The hub's feed kinds "payments" and "confirmations" applied by the edge
(``edge.sync_state.apply_feed_page``, as ``sync.pull`` runs it), on a real edge's database:
settings from head office replace the box's, and a relayed webhook pays the order once however
often the 48-hour snapshot repeats it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from demo.fake_gateways import FakeGatewayProcess
from edge.db import Database
from edge.payments import config
from edge.sync_state import apply_feed_page
from sync.protocol import (
    GatewayConfirmation,
    PaymentSettings,
    PullChange,
    PullResponse,
    confirmations_checksum,
    payments_checksum,
)
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import place
from tests.edge.test_payments_gateway import configure, order_of, start_attempt


@pytest.fixture
def fake() -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("midtrans") as found:
        yield found


def page(*changes: PullChange) -> PullResponse:
    return PullResponse(cursor=max(c.cursor for c in changes), changes=list(changes))


def apply(edge: EdgeServer, response: PullResponse) -> int:
    db = Database(edge.data_dir / "edge.db")
    try:
        return db.write_blocking(lambda conn: apply_feed_page(conn, response))
    finally:
        db.close()


def test_feed_settings_and_confirmations(edge_server_factory: object,
                                         fake: FakeGatewayProcess) -> None:
    edge: EdgeServer = edge_server_factory(init_args=("--kitchen-trigger", "payment"))  # type: ignore[operator]
    configure(edge, "midtrans", fake.base_url, fake.server_key)
    order = place(edge)
    attempt = start_attempt(edge, order["id"], edge.login("cashier"), order["total"]).json()
    edge.stop()  # no poller: only the feed confirms

    settings = PaymentSettings(provider="midtrans", api_base_url=fake.base_url,
                               server_key=fake.server_key, qr_expiry_seconds=120,
                               ewallet_channels=["gopay"])
    paid = GatewayConfirmation(gateway="midtrans", gateway_order_id=attempt["id"],
                               transaction_id="tx-1", status="paid",
                               gross_amount=order["total"], payment_type="qris",
                               received_at=datetime.now(UTC))
    confirmations = [paid]
    assert apply(edge, page(
        PullChange(cursor=1, kind="payments", version=1, checksum=payments_checksum(settings),
                   payments=settings),
        PullChange(cursor=2, kind="confirmations", version=1,
                   checksum=confirmations_checksum(confirmations), confirmations=confirmations),
    )) == 2
    # the next snapshot repeats it (48 h window) with a duplicate: nothing more is recorded
    again = [paid, paid]
    apply(edge, page(PullChange(cursor=3, kind="confirmations", version=2,
                                checksum=confirmations_checksum(again), confirmations=again)))

    edge.start()
    after = order_of(edge, order["id"])
    assert after["status"] == "in_kitchen" and len(after["payments"]) == 1
    assert after["payments"][0]["attempt_id"] == attempt["id"]
    shown = edge.call("GET", "/api/v1/payments/settings", edge.tokens["kiosk"])
    assert shown["source"] == "hub" and shown["qr_expiry_seconds"] == 120
    assert shown["ewallet_channels"] == ["gopay"] and "server_key" not in shown
    db = Database(edge.data_dir / "edge.db")
    try:
        assert db.read_now(config.load).server_key == fake.server_key
    finally:
        db.close()
