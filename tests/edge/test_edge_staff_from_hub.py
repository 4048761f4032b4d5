"""Staff and settings snapshots from the hub, applied to a real edge database.

Hub staff log in by verifiers under the outlet's salt, local staff by verifiers under the
box's own salt; a snapshot replaces all hub staff at once and never touches local ones; a
page that cannot be applied whole is not applied at all (staff, settings and cursor stay as
they were); local rows from before migration 0010 still log in and are rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import devices, sync_state
from edge.db import Database
from edge.outlet import load_outlet
from edge.sync_state import apply_feed_page as apply_changes
from shared import pins
from shared.auth import hash_password
from shared.errors import Conflict, ValidationFailed
from sync.protocol import (
    OutletSettings,
    PullChange,
    PullResponse,
    StaffRecord,
    StaffSnapshot,
    settings_checksum,
    staff_checksum,
)

BOX_PEPPER = "box-pepper-" + "b" * 40
OUTLET_SALT = "0123456789abcdef" * 2


def record(staff_id: str, name: str, pin: str, role: str = "cashier") -> StaffRecord:
    return StaffRecord(id=staff_id, name=name, role=role, pin_hash="", pin_lookup=f"none:{staff_id}",
                       pin_verifier=pins.derive(pin, OUTLET_SALT, pins.PIN_KDF))


def page(cursor: int, staff: list[StaffRecord] | None = None,
         settings: OutletSettings | None = None) -> PullResponse:
    changes = []
    if staff is not None:
        snapshot = StaffSnapshot(pin_salt=OUTLET_SALT, pin_kdf=pins.PIN_KDF.encode(), staff=staff)
        changes.append(PullChange(cursor=cursor, kind="staff", version=cursor,
                                  checksum=staff_checksum(snapshot), staff=snapshot))
    if settings is not None:
        changes.append(PullChange(cursor=cursor, kind="settings", version=cursor,
                                  checksum=settings_checksum(settings), settings=settings))
    return PullResponse(cursor=cursor, changes=changes)


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "edge.db")
    config = sync_state.SyncConfig(hub_url="http://127.0.0.1:9", tenant_id="t-1",
                                   outlet_id="o-1", outlet_name="Hub Outlet", timezone="UTC",
                                   credential_id="c-1", credential="secret")

    def provisioned(conn):  # type: ignore[no-untyped-def]
        sync_state.ensure_journal(conn)
        sync_state.save_identity(conn, config)

    database.write_blocking(provisioned)
    yield database
    database.close()


def login(db: Database, pin: str) -> devices.StaffMember | None:
    return db.read_now(lambda c: devices.find_staff_by_pin(c, pin, BOX_PEPPER))


def test_snapshot_replaces_hub_staff_and_leaves_local_staff(db: Database) -> None:
    local = db.write_blocking(lambda c: devices.add_staff(c, "Lina", "cashier", "2468", BOX_PEPPER))
    db.write_blocking(lambda c: apply_changes(c, page(1, [record("h-1", "Dewi", "314159"),
                                                          record("h-2", "Made", "600600", "manager")])))
    stored = db.read_now(lambda c: c.execute(
        "SELECT pin_hash, pin_lookup FROM staff WHERE id = 'h-1'").fetchone())
    assert tuple(stored) == ("", pins.derive("314159", OUTLET_SALT, pins.PIN_KDF))
    assert (login(db, "314159").id, login(db, "314159").source) == ("h-1", "hub")
    assert login(db, "600600").role == "manager" and login(db, "2468").id == local.id
    assert login(db, "000000") is None
    # a local PIN that a hub staff member already uses is refused at the box
    with pytest.raises(Conflict):
        db.write_blocking(lambda c: devices.add_staff(c, "Copy", "cashier", "314159", BOX_PEPPER))
    # head office's people are changed at the hub, not at the box
    with pytest.raises(Conflict):
        db.write_blocking(lambda c: devices.set_staff_active(c, "h-1", False))

    # Dewi left (deactivated at the hub), Made's PIN changed
    db.write_blocking(lambda c: apply_changes(c, page(2, [record("h-2", "Made", "700700", "manager")])))
    assert login(db, "314159") is None and login(db, "600600") is None
    assert login(db, "700700").id == "h-2" and login(db, "2468").id == local.id
    rows = {r.id: r for r in db.read_now(devices.list_staff)}
    assert rows["h-1"].active is False and rows["h-1"].source == "hub"  # kept for history
    assert rows[local.id].active and rows[local.id].source == "local"
    left = db.read_now(lambda c: c.execute("SELECT pin_hash, pin_lookup FROM staff WHERE id = 'h-1'")
                       .fetchone())
    assert tuple(left) == ("", "")  # no PIN material of someone who left
    state = db.read_now(sync_state.load_state)
    assert (state["pull_cursor"], state["staff_version"]) == (2, 2)


def test_settings_apply_and_a_bad_page_changes_nothing(db: Database) -> None:
    settings = OutletSettings(name="Renamed", timezone="Asia/Jakarta", kitchen_trigger="payment",
                              business_day_start_hour=4)
    db.write_blocking(lambda c: apply_changes(c, page(1, [record("h-1", "Dewi", "314159")],
                                                       settings)))
    info = db.read_now(load_outlet)
    assert (info.id, info.name, info.timezone, info.kitchen_trigger,
            info.business_day_start_hour) == ("o-1", "Renamed", "Asia/Jakarta", "payment", 4)
    # unset values leave the outlet's own choice alone
    db.write_blocking(lambda c: apply_changes(c, page(2, settings=OutletSettings(
        name="Renamed", timezone="Asia/Makassar"))))
    info = db.read_now(load_outlet)
    assert (info.timezone, info.kitchen_trigger, info.business_day_start_hour) == (
        "Asia/Makassar", "payment", 4)

    broken = page(3, [record("h-9", "Nobody", "111111")],
                  OutletSettings(name="X", timezone="Mars/Olympus"))
    with pytest.raises(ValidationFailed):
        db.write_blocking(lambda c: apply_changes(c, broken))
    assert login(db, "314159").id == "h-1" and login(db, "111111") is None
    assert db.read_now(load_outlet).name == "Renamed"
    assert db.read_now(sync_state.load_state)["pull_cursor"] == 2


def test_a_manager_pin_has_six_digits_and_bad_snapshots_are_refused(db: Database) -> None:
    with pytest.raises(ValidationFailed):
        db.write_blocking(lambda c: devices.add_staff(c, "Short", "manager", "2468", BOX_PEPPER))
    made = db.write_blocking(lambda c: devices.add_staff(c, "Long", "manager", "246810", BOX_PEPPER))
    assert login(db, "246810").id == made.id
    # a cost this box must not pay, or a salt that is not one, is refused before any change
    good = [record("h-1", "Dewi", "314159")]
    for salt, kdf in ((OUTLET_SALT, "argon2id$v=19$m=4194304,t=3,p=1"), ("zz", pins.PIN_KDF.encode())):
        snapshot = StaffSnapshot(pin_salt=salt, pin_kdf=kdf, staff=good)
        change = PullChange(cursor=1, kind="staff", version=1, checksum=staff_checksum(snapshot),
                            staff=snapshot)
        with pytest.raises(ValidationFailed):
            db.write_blocking(lambda c, ch=change: apply_changes(c, PullResponse(cursor=1, changes=[ch])))
    assert login(db, "314159") is None


def test_a_legacy_local_row_logs_in_once_by_its_lookup_then_by_a_verifier(db: Database) -> None:
    # a row as `pos-edge staff add` made it before migration 0010: HMAC lookup + argon2 hash
    db.write_blocking(lambda c: c.execute(
        "INSERT INTO staff (id, name, role, pin_hash, pin_lookup, pin_scheme, active, created_at,"
        " updated_at) VALUES ('old-1', 'Ayu', 'cashier', ?, ?, 'legacy', 1, 'x', 'x')",
        (hash_password("7391"), devices._pin_lookup("7391", BOX_PEPPER))))
    assert login(db, "7391").id == "old-1"  # found; the read-only connection cannot rewrite it
    assert db.read_now(lambda c: c.execute(
        "SELECT pin_scheme FROM staff WHERE id = 'old-1'").fetchone())[0] == "legacy"
    found = db.write_blocking(lambda c: devices.find_staff_by_pin(c, "7391", BOX_PEPPER))
    assert found is not None and found.id == "old-1"
    row = db.read_now(lambda c: c.execute(
        "SELECT pin_hash, pin_lookup, pin_scheme FROM staff WHERE id = 'old-1'").fetchone())
    assert row["pin_hash"] == "" and row["pin_scheme"] == "verifier"
    assert row["pin_lookup"] != devices._pin_lookup("7391", BOX_PEPPER)
    assert login(db, "7391").id == "old-1" and login(db, "7390") is None
    # the box's pepper no longer finds anything: the fast lookup is gone
    assert db.read_now(lambda c: devices.find_staff_by_pin(c, "7391", "another-pepper")).id == "old-1"
