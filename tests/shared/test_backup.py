"""Online backup while writes go on, and restore into a new journal epoch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from edge import outbox
from edge.backup import backup_database, list_backups, restore_database
from edge.db import Database
from shared.schemas import AvailabilityEvent


def _event(n: int) -> AvailabilityEvent:
    return AvailabilityEvent(product_id=f"p{n}", available=True, at=datetime.now(UTC))


async def test_backup_during_writes_then_restore_starts_new_epoch(tmp_path):
    db_path = tmp_path / "data" / "edge.db"
    db_path.parent.mkdir()
    db = Database(db_path)
    db.write_blocking(lambda c: outbox.init_journal(c))
    for n in range(50):
        await db.write(lambda c, n=n: outbox.append(c, _event(n)))
    old_epoch = db.read_now(outbox.head)["epoch"]

    writes = asyncio.gather(*[db.write(lambda c, n=n: outbox.append(c, _event(n))) for n in range(200)])
    backup = await asyncio.to_thread(backup_database, db_path, tmp_path / "backups", 2)
    await writes
    assert backup.exists() and oct(backup.stat().st_mode & 0o777) == "0o600"
    sold_after_backup = db.read_now(outbox.head)["seq"]
    db.close()

    new_epoch = restore_database(backup, db_path)
    assert new_epoch != old_epoch
    restored = Database(db_path)
    head = restored.read_now(outbox.head)
    assert head["epoch"] == new_epoch
    assert 50 <= head["seq"] <= sold_after_backup
    assert head["epoch_base_seq"] == head["seq"] + 1
    seq = await restored.write(lambda c: outbox.append(c, _event(999)))
    entry = restored.read_now(lambda c: outbox.pending(c, "o", 10**6, 10**9))[-1]
    assert (entry.seq, entry.epoch, entry.prev_hash) == (seq, new_epoch, outbox.genesis_hash(new_epoch))
    restored.close()


def test_backup_keeps_only_the_newest(tmp_path):
    db = Database(tmp_path / "edge.db")
    db.write_blocking(lambda c: outbox.init_journal(c))
    db.close()
    for _ in range(4):
        backup_database(tmp_path / "edge.db", tmp_path / "b", keep=2)
    assert len(list_backups(tmp_path / "b")) == 2


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(RuntimeError, match="not an edge database"):
        restore_database(junk, tmp_path / "edge.db")
    assert not (tmp_path / "edge.db").exists()
