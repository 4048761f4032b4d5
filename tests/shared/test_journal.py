"""The outbox journal: gap-free sequence, hash chain, acks that never move back, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge import outbox
from edge.db import Database
from shared.schemas import AvailabilityEvent, event_decoder


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "edge.db")
    database.write_blocking(lambda conn: outbox.init_journal(conn))
    yield database
    database.close()


def _event(n: int) -> AvailabilityEvent:
    return AvailabilityEvent(product_id=f"p{n}", available=n % 2 == 0, at=datetime.now(UTC))


def verify_chain(entries, start_hash):
    prev = start_hash
    for entry in entries:
        assert entry.prev_hash == prev
        assert outbox.chain_hash(prev, entry.seq, entry.body) == entry.hash
        prev = entry.hash
    return prev


async def test_concurrent_appends_are_gap_free_and_chained(db):
    import asyncio

    await asyncio.gather(*[db.write(lambda c, n=n: outbox.append(c, _event(n))) for n in range(300)])
    entries = db.read_now(lambda c: outbox.pending(c, "outlet-1", 1000, 10**9))
    assert [e.seq for e in entries] == list(range(1, 301))
    epoch = db.read_now(outbox.head)["epoch"]
    verify_chain(entries, outbox.genesis_hash(epoch))
    assert isinstance(event_decoder.decode(entries[0].body), AvailabilityEvent)


async def test_failed_change_leaves_no_event(db):
    def change_then_fail(conn):
        outbox.append(conn, _event(1))
        raise ValueError("domain rule broken")

    with pytest.raises(ValueError):
        await db.write(change_then_fail)
    await db.write(lambda c: outbox.append(c, _event(2)))
    entries = db.read_now(lambda c: outbox.pending(c, "o", 10, 10**9))
    assert [e.seq for e in entries] == [1]


async def test_pending_is_capped_by_bytes_but_returns_at_least_one(db):
    for n in range(10):
        await db.write(lambda c, n=n: outbox.append(c, _event(n)))
    one_body = len(db.read_now(lambda c: outbox.pending(c, "o", 1, 10**9))[0].body)
    assert len(db.read_now(lambda c: outbox.pending(c, "o", 100, one_body * 3))) == 3
    assert len(db.read_now(lambda c: outbox.pending(c, "o", 100, 1))) == 1


async def test_ack_never_moves_back_and_prune_keeps_anchor(db):
    for n in range(20):
        await db.write(lambda c, n=n: outbox.append(c, _event(n)))
    past = datetime.now(UTC) - timedelta(days=10)
    assert await db.write(lambda c: outbox.mark_acked(c, 12, now=past)) == 12
    assert await db.write(lambda c: outbox.mark_acked(c, 5)) == 12  # a stale ack changes nothing
    assert await db.write(lambda c: outbox.mark_acked(c, 99)) == 20  # capped at what exists
    assert db.read_now(outbox.backlog) == 0
    deleted = await db.write(lambda c: outbox.prune(c, datetime.now(UTC) - timedelta(days=1)))
    assert deleted == 12
    head = db.read_now(outbox.head)
    assert head["pruned_seq"] == 12
    remaining = db.read_now(lambda c: c.execute("SELECT seq, prev_hash FROM outbox ORDER BY seq").fetchall())
    assert remaining[0]["seq"] == 13 and remaining[0]["prev_hash"] == head["pruned_hash"]
    seq = await db.write(lambda c: outbox.append(c, _event(99)))
    assert seq == 21  # numbers are never reused after pruning


async def test_new_epoch_continues_numbering_with_a_fresh_chain(db):
    for n in range(3):
        await db.write(lambda c, n=n: outbox.append(c, _event(n)))
    old_epoch = db.read_now(outbox.head)["epoch"]
    new_epoch = await db.write(outbox.start_new_epoch)
    await db.write(lambda c: outbox.append(c, _event(7)))
    entries = db.read_now(lambda c: outbox.pending(c, "o", 100, 10**9))
    assert [(e.seq, e.epoch) for e in entries] == [(1, old_epoch), (2, old_epoch), (3, old_epoch),
                                                   (4, new_epoch)]
    verify_chain(entries[:3], outbox.genesis_hash(old_epoch))
    verify_chain(entries[3:], outbox.genesis_hash(new_epoch))
    assert db.read_now(outbox.head)["epoch_base_seq"] == 4
