"""The static-QRIS fallback's payload building (edge/payments/static_qris.py) and the hub's
payment settings as the edge applies them (edge/payments/config.py), on real SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge.db import Database
from edge.payments import config, static_qris

STATIC = ("00020101021126660014ID.CO.QRIS.WWW01189360091400000000010215ID10200176114730303UMI"
          "5204581253033605802ID5914KOPI NUSANTARA6007JAKARTA6105101106304312C")
# STATIC with 27500 injected; checked valid by an independent QRIS implementation (qriskit 0.2.0)
DYNAMIC_27500 = ("00020101021226660014ID.CO.QRIS.WWW01189360091400000000010215ID10200176114730303UMI"
                 "5204581253033605405275005802ID5914KOPI NUSANTARA6007JAKARTA61051011063049FE9")


def test_crc16_ccitt_false_check_value() -> None:
    assert static_qris.crc16("123456789") == "29B1"  # the published check value of the CRC


def test_amount_injected_into_a_static_qris() -> None:
    assert static_qris.parse(STATIC)[1] == ("01", "11")
    dynamic = static_qris.dynamic_from_static(STATIC, 27_500)
    assert dynamic == DYNAMIC_27500
    fields = static_qris.parse(dynamic)
    assert ("01", "12") in fields and ("54", "27500") in fields
    tags = [tag for tag, _ in fields]
    assert tags == sorted(tags[:-1]) + ["63"]


def test_tip_fields_are_dropped_and_an_old_amount_replaced() -> None:
    with_tip = static_qris.emv_payload([*static_qris.parse(STATIC)[:-1], ("54", "1"), ("55", "02"),
                                        ("57", "5")])
    fields = dict(static_qris.parse(static_qris.dynamic_from_static(with_tip, 9_000)))
    assert fields["54"] == "9000" and "55" not in fields and "57" not in fields


@pytest.mark.parametrize("payload, problem", [
    (STATIC[:-4] + "0000", "CRC"),
    (STATIC[:40], "cut short"),
    ("000201" + "x" * 600, "512"),
    (STATIC.replace("JAKARTA", "JAKARTÁ"), "ASCII"),
    ("hello", "malformed"),
])
def test_malformed_payloads_are_refused(payload: str, problem: str) -> None:
    with pytest.raises(static_qris.QrisError, match=problem):
        static_qris.parse(payload)


def test_amount_bounds_and_currency() -> None:
    with pytest.raises(static_qris.QrisError):
        static_qris.dynamic_from_static(STATIC, 0)
    usd = static_qris.emv_payload([(t, "840" if t == "53" else v) for t, v in static_qris.parse(STATIC)])
    with pytest.raises(static_qris.QrisError, match="rupiah"):
        static_qris.dynamic_from_static(usd, 1000)


def test_rendered_as_svg() -> None:
    svg = static_qris.render_svg(DYNAMIC_27500)
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_hub_settings_never_stall_the_pull(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.db")
    try:
        now = datetime.now(UTC)
        bad = SimpleNamespace(provider="stripe", api_base_url="ftp://x", server_key="k",
                              qr_expiry_seconds=1, static_qris="not a qris",
                              ewallet_channels=["dana"])
        problems = db.write_blocking(lambda conn: config.apply_hub_settings(conn, bad, now))
        assert len(problems) == 3
        held = db.read_now(config.load)
        assert (held.provider, held.qr_expiry_seconds, held.static_qris, held.source) == (
            "none", 10, "", "hub")
        good = SimpleNamespace(provider="xendit", api_base_url="https://api.xendit.co",
                               server_key="xnd_secret", qr_expiry_seconds=300,
                               static_qris=STATIC, ewallet_channels=["dana", "shopeepay"])
        assert db.write_blocking(lambda conn: config.apply_hub_settings(conn, good, now)) == []
        held = db.read_now(config.load)
        assert held.provider == "xendit" and held.static_qris == STATIC
        shown = config.public(held)
        assert "server_key" not in shown and shown["has_server_key"] is True
        assert "xnd_secret" not in repr(shown)
    finally:
        db.close()
