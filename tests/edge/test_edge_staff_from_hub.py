"""Staff and settings snapshots from the hub, applied to a real edge database.

Hub staff log in by the tenant's PIN pepper, local staff by the box's; a snapshot replaces
all hub staff at once and never touches local ones; a page that cannot be applied whole is
not applied at all (staff, settings and cursor stay as they were)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import devices, sync_state
from edge.db import Database
from edge.outlet import load_outlet
from hub.staff import pin_lookup
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
from sync.pull import apply_changes

BOX_PEPPER = "box-pepper-" + "b" * 40
TENANT_PEPPER = "tenant-pepper-" + "t" * 40


def record(staff_id: str, name: str, pin: str, role: str = "cashier") -> StaffRecord:
    return StaffRecord(id=staff_id, name=name, role=role, pin_hash=hash_password(pin),
                       pin_lookup=pin_lookup(pin, TENANT_PEPPER))


def page(cursor: int, staff: list[StaffRecord] | None = None,
         settings: OutletSettings | None = None) -> PullResponse:
    changes = []
    if staff is not None:
        snapshot = StaffSnapshot(pin_pepper=TENANT_PEPPER, staff=staff)
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
