"""Settings (TOML + POS_EDGE_* overrides, refusing default secrets), business days in the
outlet's timezone, and catalog replacement keeping local sold-out decisions (real SQLite)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from edge import catalog, demo, outlet, sync_state
from edge.db import Database
from edge.settings import SettingsError, load_settings, write_config
from shared.errors import ValidationFailed
from tests.edge.edge_server import run_cli


def test_init_writes_private_config_with_fresh_secrets(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_config(tmp_path / "a", demo=False)
    write_config(tmp_path / "b", demo=False)
    assert stat.S_IMODE(os.stat(a).st_mode) == 0o600
    first, second = load_settings(tmp_path / "a"), load_settings(tmp_path / "b")
    assert first.jwt_secret != second.jwt_secret and len(first.jwt_secret) >= 32
    assert first.check() is first  # generated secrets pass outside demo mode
    assert write_config(tmp_path / "a", demo=True) == a  # an existing config is kept
    assert load_settings(tmp_path / "a").jwt_secret == first.jwt_secret


def test_default_secrets_are_refused_outside_demo(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="jwt_secret"):
        load_settings(tmp_path, environ={}).check()
    assert load_settings(tmp_path, environ={"POS_EDGE_DEMO": "true"}).check().demo
    with pytest.raises(SettingsError):
        load_settings(tmp_path, environ={"POS_EDGE_JWT_SECRET": "short",
                                         "POS_EDGE_PIN_PEPPER": "x" * 40}).check()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, demo=False, port=9000, advertise=True)
    env = {"POS_EDGE_PORT": "9100", "POS_EDGE_ADVERTISE": "false",
           "POS_EDGE_ADVERTISE_INTERFACES": "127.0.0.1, 10.0.0.2"}
    settings = load_settings(tmp_path, environ=env)
    assert (settings.port, settings.advertise) == (9100, False)
    assert settings.advertise_interfaces == ["127.0.0.1", "10.0.0.2"]
    assert load_settings(tmp_path, environ={}).port == 9000
    with pytest.raises(SettingsError):
        load_settings(tmp_path, environ={"POS_EDGE_LOG_REQUESTS": "yes", "POS_EDGE_PORT": "x1"})


def test_serve_refuses_a_box_without_secrets(tmp_path: Path) -> None:
    run_cli("init", "--data-dir", str(tmp_path))
    (tmp_path / "edge.toml").write_text("[edge]\ndemo = false\n")
    done = run_cli("serve", "--data-dir", str(tmp_path), "--port", "0", check=False, timeout=60)
    assert done.returncode == 2 and "jwt_secret" in done.stderr


def test_business_day_follows_the_outlet_timezone() -> None:
    jakarta = outlet.OutletInfo(id="o", name="x", timezone="Asia/Jakarta")
    assert outlet.business_day(jakarta, datetime(2026, 1, 1, 16, 59, tzinfo=UTC)) == "2026-01-01"
    assert outlet.business_day(jakarta, datetime(2026, 1, 1, 17, 0, tzinfo=UTC)) == "2026-01-02"
    late = outlet.OutletInfo(id="o", name="x", timezone="Asia/Jakarta", business_day_start_hour=4)
    assert outlet.business_day(late, datetime(2026, 1, 1, 20, 30, tzinfo=UTC)) == "2026-01-01"
    with pytest.raises(ValidationFailed):
        outlet.check_timezone("Mars/Olympus")


def test_replacing_the_catalog_keeps_local_sold_out(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.db")
    try:
        now = datetime.now(UTC)

        def setup(conn):
            sync_state.ensure_journal(conn)
            catalog.replace_catalog(conn, demo.demo_catalog(), now)
            catalog.set_availability(conn, "p-bakso", False, "staff-1", now)
            catalog.set_availability(conn, "p-klepon", False, "staff-1", now)

        db.write_blocking(setup)
        newer = demo.demo_catalog()
        newer = msgspec.structs.replace(
            newer, version=2, products=[p for p in newer.products if p.id != "p-klepon"])
        db.write_blocking(lambda conn: catalog.replace_catalog(conn, newer, now))
        menu = db.read_now(catalog.read_catalog)
        by_id = {p.id: p for p in menu.products}
        assert menu.version == 2 and "p-klepon" not in by_id
        assert by_id["p-bakso"].available is False and by_id["p-bakso"].price == 27_000
        broken = msgspec.structs.replace(newer, categories=[])
        with pytest.raises(ValidationFailed):
            db.write_blocking(lambda conn: catalog.replace_catalog(conn, broken, now))
        assert len(db.read_now(catalog.read_catalog).categories) == 7
    finally:
        db.close()


def test_demo_menu_is_big_enough_and_translated() -> None:
    menu = demo.demo_catalog()
    assert len(menu.products) >= 30 and len(menu.categories) >= 5
    assert all(p.names.get("id") for p in menu.products)
    assert {c.station for c in menu.categories} == {"kitchen", "bar"}
    groups = {g.id: g for g in menu.modifier_groups}
    assert any(g.min_choices >= 1 for g in groups.values())
    assert any(g.min_choices == 0 and g.max_choices > 1 for g in groups.values())
    assert (menu.tax.tax_rate_bp, menu.tax.service_rate_bp, menu.currency) == (1000, 500, "IDR")


def test_a_box_set_up_by_provisioning_alone_serves_as_the_hub_outlet(edge_server_factory,
                                                                       tmp_path: Path) -> None:
    """What `pos-edge provision` leaves behind (identity, journal, hub catalog; no init, no
    edge.toml) is enough for `pos-edge serve`; orders carry the hub's outlet id and timezone."""
    from edge.devices import pair_device

    box = tmp_path / "box"
    box.mkdir()
    config = sync_state.SyncConfig(hub_url="http://127.0.0.1:9", tenant_id="t-1",
                                   outlet_id="outlet-from-hub", outlet_name="Hub Outlet",
                                   timezone="Asia/Makassar", credential_id="c-1",
                                   credential="secret-credential")
    db = Database(box / "edge.db")
    try:
        def provisioned(conn):
            sync_state.ensure_journal(conn)
            sync_state.save_identity(conn, config)
            sync_state.apply_catalog(conn, demo.demo_catalog(), "checksum")
            return pair_device(conn, "kiosk-1", "kiosk")[1]

        kiosk = db.write_blocking(provisioned)
    finally:
        db.close()
    server = edge_server_factory(start=False, name="unused", pair=False)
    server.data_dir, server.tokens = box, {"kiosk": kiosk}
    server.start()
    assert (box / "edge.toml").exists()
    me = server.call("GET", "/api/v1/me", kiosk)
    outlet = {key: me["outlet"][key] for key in ("id", "name", "timezone")}
    assert outlet == {"id": "outlet-from-hub", "name": "Hub Outlet", "timezone": "Asia/Makassar"}
    order = server.call("POST", "/api/v1/orders", kiosk, json={
        "type": "takeaway", "lines": [{"product_id": "p-air-mineral"}]})
    assert order["outlet_id"] == "outlet-from-hub" and order["total"] == 6_900  # 6_930, in the demo's Rp 100 cash rounding


def test_every_setting_is_documented() -> None:
    from edge.settings import EdgeSettings

    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = docs[docs.index("### Edge settings"):docs.index("### Order life cycle")]
    missing = [f.name for f in msgspec.structs.fields(EdgeSettings) if f"`{f.name}`" not in section]
    assert not missing, f"settings missing from docs/api.md: {missing}"
