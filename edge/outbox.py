"""The transactional outbox: a gap-free, hash-chained journal of every edge change.

``append`` must be called inside the write transaction that makes the change, so the change
and its event commit together or not at all. Sequence numbers come from ``journal_head``
(never ``max(seq)``), so pruning old events cannot make a number be handed out twice.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from shared.ids import new_id
from shared.journal import chain_hash, genesis_hash
from shared.schemas import EventBody, JournalEntry, event_encoder

__all__ = [
    "append",
    "backlog",
    "chain_hash",
    "genesis_hash",
    "head",
    "init_journal",
    "mark_acked",
    "pending",
    "prune",
    "start_new_epoch",
]


def init_journal(conn: sqlite3.Connection, epoch: str | None = None) -> str:
    """Create the journal head for a new database; returns its epoch."""
    epoch = epoch or new_id()
    conn.execute(
        "INSERT INTO journal_head (id, epoch, seq, hash) VALUES (1, ?, 0, ?)",
        (epoch, genesis_hash(epoch)),
    )
    return epoch


def head(conn: sqlite3.Connection) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM journal_head WHERE id = 1").fetchone()
    if row is None:
        raise RuntimeError("journal not initialised: run `pos-edge init` first")
    return row


def append(conn: sqlite3.Connection, body: EventBody, now: datetime | None = None) -> int:
    """Append one event to the journal in the caller's transaction; return its seq."""
    now = now or datetime.now(UTC)
    current = head(conn)
    seq = current["seq"] + 1
    payload = event_encoder.encode(body)
    digest = chain_hash(current["hash"], seq, payload)
    conn.execute(
        "INSERT INTO outbox (seq, epoch, event_id, kind, occurred_at, body, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, current["epoch"], new_id(), type(body).__struct_config__.tag, now.isoformat(), payload,
         current["hash"], digest),
    )
    conn.execute("UPDATE journal_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
    return seq


def pending(conn: sqlite3.Connection, outlet_id: str, limit: int, max_bytes: int) -> list[JournalEntry]:
    """The oldest unacknowledged events, capped by count and total body bytes (at least one)."""
    rows = conn.execute(
        "SELECT seq, epoch, event_id, occurred_at, body, prev_hash, hash FROM outbox"
        " WHERE seq > (SELECT acked_seq FROM journal_head WHERE id = 1) ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    entries: list[JournalEntry] = []
    size = 0
    for row in rows:
        size += len(row["body"])
        if entries and size > max_bytes:
            break
        entries.append(JournalEntry(
            outlet_id=outlet_id, epoch=row["epoch"], seq=row["seq"], event_id=row["event_id"],
            occurred_at=datetime.fromisoformat(row["occurred_at"]), body=row["body"],
            prev_hash=row["prev_hash"], hash=row["hash"],
        ))
    return entries


def mark_acked(conn: sqlite3.Connection, acked_seq: int, now: datetime | None = None) -> int:
    """Record that the hub durably holds every event up to ``acked_seq`` (never moves back).

    Only the last acknowledged row gets ``acked_at``: it stands for every row up to it
    (``prune`` deletes up to such a mark). Stamping all 2,000 rows of a batch made the ack a
    write big enough to delay the till's next sale behind it on the single writer."""
    now = now or datetime.now(UTC)
    current = head(conn)
    target = min(acked_seq, current["seq"])
    if target <= current["acked_seq"]:
        return current["acked_seq"]
    conn.execute("UPDATE outbox SET acked_at = ? WHERE seq = ?", (now.isoformat(), target))
    conn.execute("UPDATE journal_head SET acked_seq = ? WHERE id = 1", (target,))
    return target


def prune(conn: sqlite3.Connection, older_than: datetime) -> int:
    """Delete acknowledged events acked before ``older_than``; keep the chain's anchor hash.

    The newest row marked acked before ``older_than`` covers every row before it (see
    ``mark_acked``)."""
    current = head(conn)
    last = conn.execute(
        "SELECT seq, hash FROM outbox WHERE seq <= ? AND acked_at IS NOT NULL AND acked_at < ?"
        " ORDER BY seq DESC LIMIT 1",
        (current["acked_seq"], older_than.isoformat()),
    ).fetchone()
    if last is None:
        return 0
    deleted = conn.execute("DELETE FROM outbox WHERE seq <= ?", (last["seq"],)).rowcount
    conn.execute("UPDATE journal_head SET pruned_seq = ?, pruned_hash = ? WHERE id = 1",
                 (last["seq"], last["hash"]))
    return deleted


def backlog(conn: sqlite3.Connection) -> int:
    current = head(conn)
    return current["seq"] - current["acked_seq"]


def start_new_epoch(conn: sqlite3.Connection) -> str:
    """Begin a new epoch (after a restore from backup or a reinstall).

    Numbering continues, but the chain restarts from the new epoch's genesis hash, so the hub
    sees a new journal stream instead of the same numbers with different content. Events of
    the old epoch still waiting in the outbox are pushed as they are (under their epoch).
    """
    epoch = new_id()
    current = head(conn)
    conn.execute("UPDATE journal_head SET epoch = ?, epoch_base_seq = ?, hash = ? WHERE id = 1",
                 (epoch, current["seq"] + 1, genesis_hash(epoch)))
    return epoch
