"""Restored edge databases: sequence numbers are never silently re-used and no sale is lost.

Two ways a box comes back from a backup:
* the supported restore (``edge.backup.restore_database``) starts a new epoch itself;
* a raw file copy keeps the old epoch: the hub detects the same seq with other content,
  raises an alarm, and the edge moves its unacknowledged events into a new epoch.
In both cases every order sold in either timeline reaches the hub exactly once.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from edge import backup
from edge.db import Database
from sync.client import HubClient
from sync.push import PushOutcome, push_once
from tests.sync.conftest import EdgeJournal, enroll, issue_code, pg_query

pytestmark = pytest.mark.postgres


def drain(base_url: str, credential: str, journal: EdgeJournal) -> list[PushOutcome]:
    async def go() -> list[PushOutcome]:
        outcomes = []
        async with HubClient(base_url, credential) as client:
            for _ in range(20):
                outcome = await push_once(journal.store, client, journal.outlet_id, max_events=50,
                                          max_bytes=10**6)
                outcomes.append(outcome)
                if outcome.refused or outcome.unreachable or not outcome.more:
                    break
        return outcomes
    return asyncio.run(go())


def orders_at_hub(db_url: str, outlet_id: str) -> dict[str, int]:
    return dict(pg_query(db_url, "SELECT id, total FROM orders WHERE outlet_id = %s", outlet_id))


def alarms(db_url: str, outlet_id: str) -> list[str]:
    return [r[0] for r in pg_query(db_url, "SELECT kind FROM sync_alarms WHERE outlet_id = %s"
                                   " ORDER BY created_at", outlet_id)]


@pytest.fixture
def box(hub_server, tenant, outlet_factory, tmp_path):
    outlet = outlet_factory(tenant)
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    journal = EdgeJournal(tmp_path / "edge.db", outlet["id"])
    yield outlet, credential, journal
    journal.close()


def _reopen(journal: EdgeJournal) -> EdgeJournal:
    path, outlet_id = journal.db.path, journal.outlet_id
    journal.close()
    again = EdgeJournal.__new__(EdgeJournal)
    again.db, again.outlet_id, again.tax, again.number = Database(path), outlet_id, journal.tax, 100
    return again


def test_supported_restore_starts_a_new_epoch_and_loses_nothing(hub_server, box, tmp_path):
    outlet, credential, journal = box
    before = [journal.sale([("Nasi Uduk", 15_000, 1)])[0] for _ in range(3)]
    assert all(o.ok for o in drain(hub_server.base_url, credential, journal))
    saved = backup.backup_database(journal.db.path, tmp_path / "backups")
    lost_timeline = [journal.sale([("Lontong", 17_000, 2)])[0] for _ in range(2)]  # seqs 13..20
    assert all(o.ok for o in drain(hub_server.base_url, credential, journal))
    old_epoch = journal.head()["epoch"]
    journal.db.close()
    new_epoch = backup.restore_database(saved, journal.db.path)
    journal = _reopen(journal)
    assert new_epoch != old_epoch and journal.head()["seq"] == 12
    after = [journal.sale([("Gado-gado", 21_000, 1)])[0] for _ in range(2)]  # seqs 13..20 again
    outcomes = drain(hub_server.base_url, credential, journal)
    assert all(o.ok for o in outcomes) and journal.head()["acked_seq"] == 20
    held = orders_at_hub(hub_server.db_url, outlet["id"])
    assert held == {o.id: o.total for o in before + lost_timeline + after}
    assert "seq_reuse" in alarms(hub_server.db_url, outlet["id"])
    epochs = pg_query(hub_server.db_url, "SELECT epoch, first_seq, last_seq FROM sync_cursors"
                      " WHERE outlet_id = %s ORDER BY started_at", outlet["id"])
    assert epochs == [(old_epoch, 1, 20), (new_epoch, 13, 20)]
    journal.close()


def test_raw_copy_restore_is_detected_and_the_edge_moves_to_a_new_epoch(hub_server, tenant, box,
                                                                        tmp_path):
    outlet, credential, journal = box
    before = [journal.sale([("Rawon", 28_000, 1)])[0] for _ in range(2)]
    assert all(o.ok for o in drain(hub_server.base_url, credential, journal))
    copy = tmp_path / "copy.db"
    journal.db.close()
    shutil.copyfile(journal.db.path, copy)
    journal = _reopen(journal)
    lost_timeline = [journal.sale([("Soto", 19_000, 1)])[0] for _ in range(2)]
    assert all(o.ok for o in drain(hub_server.base_url, credential, journal))
    journal.db.close()
    shutil.copyfile(copy, journal.db.path)  # someone copies the old file back
    for suffix in ("-wal", "-shm"):
        journal.db.path.with_name(journal.db.path.name + suffix).unlink(missing_ok=True)
    journal = _reopen(journal)
    old_epoch = journal.head()["epoch"]
    after = [journal.sale([("Pecel", 16_000, 1)])[0] for _ in range(2)]
    outcomes = drain(hub_server.base_url, credential, journal)
    assert any(o.epoch_rotated for o in outcomes)
    assert all(not o.refused for o in outcomes)
    head = journal.head()
    assert head["epoch"] != old_epoch and head["acked_seq"] == head["seq"]
    held = orders_at_hub(hub_server.db_url, outlet["id"])
    assert held == {o.id: o.total for o in before + lost_timeline + after}
    kinds = alarms(hub_server.db_url, outlet["id"])
    assert "seq_conflict" in kinds
    entry = next(e for e in tenant.client.get("/api/v1/fleet").json()["items"]
                 if e["outlet_id"] == outlet["id"])
    assert entry["journal_alarm"]  # visible on the fleet view
    journal.close()


def test_reinstalled_box_starts_over_at_seq_1_noticed_not_overwriting(hub_server, tenant, box,
                                                                      tmp_path):
    outlet, credential, journal = box
    old = [journal.sale([("Bubur Ayam", 14_000, 1)])[0] for _ in range(2)]
    assert all(o.ok for o in drain(hub_server.base_url, credential, journal))
    # The box is wiped and reinstalled: a brand new database (new epoch, seq from 1) enrolled
    # again for the same outlet.
    fresh = EdgeJournal(tmp_path / "reinstalled.db", outlet["id"])
    try:
        code = issue_code(tenant, outlet["id"]).json()["code"]
        new_credential = enroll(hub_server.base_url, code).credential
        new = [fresh.sale([("Bubur Ayam", 14_000, 2)])[0] for _ in range(2)]
        assert all(o.ok for o in drain(hub_server.base_url, new_credential, fresh))
        assert fresh.head()["acked_seq"] == 8
        held = orders_at_hub(hub_server.db_url, outlet["id"])
        assert held == {o.id: o.total for o in old + new}
        assert "seq_reuse" in alarms(hub_server.db_url, outlet["id"])
    finally:
        fresh.close()
