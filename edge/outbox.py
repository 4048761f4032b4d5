"""The transactional outbox: a gap-free, hash-chained journal of every edge change.

This module owns the journal: every read, append, acknowledgement, epoch change and prune
of the ``outbox``, ``journal_head`` and ``sync_epochs`` tables goes through its functions,
and no other module writes their SQL. The sync engine reaches it through
``edge.sync_state.EdgeStore`` (the edge's ``sync.store.JournalStore``).

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
    "continue_above",
    "ensure_journal",
    "entries_from",
    "find_head",
    "first_unacked_epoch",
    "genesis_hash",
    "head",
    "init_journal",
    "mark_acked",
    "pending",
    "position",
    "prune",
    "rotate_epoch",
    "start_new_epoch",
]

_ENTRY_COLUMNS = "seq, epoch, event_id, occurred_at, body, prev_hash, hash"


def init_journal(conn: sqlite3.Connection, epoch: str | None = None) -> str:
    """Create the journal head for a new database; returns its epoch."""
    epoch = epoch or new_id()
    conn.execute(
        "INSERT INTO journal_head (id, epoch, seq, hash) VALUES (1, ?, 0, ?)",
        (epoch, genesis_hash(epoch)),
    )
    return epoch


def ensure_journal(conn: sqlite3.Connection) -> str:
    """Initialise the journal if this database has none yet (recorded as an epoch of a new
    database); return the current epoch."""
    row = find_head(conn)
    if row is not None:
        return str(row["epoch"])
    epoch = init_journal(conn)
    conn.execute("INSERT OR IGNORE INTO sync_epochs (epoch, started_at, reason) VALUES (?, ?, ?)",
                 (epoch, _now(), "new database"))
    return epoch


def find_head(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The journal head, or None when this database has no journal yet."""
    row: sqlite3.Row | None = conn.execute("SELECT * FROM journal_head WHERE id = 1").fetchone()
    return row


def head(conn: sqlite3.Connection) -> sqlite3.Row:
    row = find_head(conn)
    if row is None:
        raise RuntimeError("journal not initialised: run `pos-edge init` first")
    return row


def position(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """``(seq, acked_seq)``, or None without a journal; works on any connection (no row
    factory needed), e.g. a read-only look at a backup or a database the server holds."""
    row = conn.execute("SELECT seq, acked_seq FROM journal_head WHERE id = 1").fetchone()
    return (int(row[0]), int(row[1])) if row is not None else None


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
        f"SELECT {_ENTRY_COLUMNS} FROM outbox"
        " WHERE seq > (SELECT acked_seq FROM journal_head WHERE id = 1) ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    return _entries(rows, outlet_id, max_bytes)


def entries_from(conn: sqlite3.Connection, outlet_id: str, from_seq: int, epoch: str | None,
                 limit: int, max_bytes: int) -> list[JournalEntry]:
    """Events from ``from_seq`` on (acked or not) for a resend, capped like ``pending``;
    ``from_seq`` 0 with an epoch means "from that epoch's first event still here"."""
    if from_seq <= 0 and epoch:
        row = conn.execute("SELECT min(seq) FROM outbox WHERE epoch = ?", (epoch,)).fetchone()
        from_seq = row[0] or 0
    rows = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?",
                        (from_seq, limit)).fetchall()
    return _entries(rows, outlet_id, max_bytes)


def _entries(rows: list[sqlite3.Row], outlet_id: str, max_bytes: int) -> list[JournalEntry]:
    """Outbox rows as the wire's JournalEntry, up to ``max_bytes`` of bodies (at least one)."""
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


def first_unacked_epoch(conn: sqlite3.Connection) -> str | None:
    """The epoch of the oldest event the hub has not acknowledged (None: nothing waits)."""
    row = conn.execute("SELECT epoch FROM outbox WHERE seq > (SELECT acked_seq FROM "
                       "journal_head WHERE id = 1) ORDER BY seq LIMIT 1").fetchone()
    return row["epoch"] if row else None


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


def rotate_epoch(conn: sqlite3.Connection, reason: str) -> str:
    """Start a new epoch and move every unacknowledged event into it (nothing is dropped).

    Used when the hub proves this database re-used sequence numbers of its epoch with other
    content (a restore from backup without ``start_new_epoch``): those events can never be
    accepted under their old numbers. Each keeps its event_id, kind, time and body bytes, so
    the hub applies it exactly as it would have; only its position (epoch, seq, hash) is new.
    The old rows' numbers are marked as passed (``acked_seq``) because their content now
    lives under the new epoch.
    """
    current = head(conn)
    moved = conn.execute(
        "SELECT event_id, kind, occurred_at, body FROM outbox WHERE seq > ? ORDER BY seq",
        (current["acked_seq"],),
    ).fetchall()
    conn.execute("DELETE FROM outbox WHERE seq > ?", (current["acked_seq"],))
    conn.execute("UPDATE journal_head SET acked_seq = seq WHERE id = 1")
    epoch = start_new_epoch(conn)
    fresh = head(conn)
    prev, seq = fresh["hash"], fresh["seq"]
    for row in moved:
        seq += 1
        digest = chain_hash(prev, seq, row["body"])
        conn.execute(
            "INSERT INTO outbox (seq, epoch, event_id, kind, occurred_at, body, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, epoch, row["event_id"], row["kind"], row["occurred_at"], row["body"], prev,
             digest))
        prev = digest
    conn.execute("UPDATE journal_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    _record_epoch(conn, epoch, reason, fresh["seq"] + 1)
    return epoch


def continue_above(conn: sqlite3.Connection, floor: int, reason: str) -> int:
    """Start a new epoch whose numbers begin above ``floor`` and this journal's own head
    (a box taking over an outlet whose old box wrote up to ``floor``); returns the first seq
    the box will use. The caller has made sure every event here is acknowledged."""
    current = head(conn)
    top = max(current["seq"], floor)
    # Numbers between this head and ``floor`` are another box's: never handed out here.
    conn.execute("UPDATE journal_head SET seq = ?, acked_seq = ? WHERE id = 1", (top, top))
    epoch = start_new_epoch(conn)
    _record_epoch(conn, epoch, reason, top + 1)
    return int(top + 1)


def _record_epoch(conn: sqlite3.Connection, epoch: str, reason: str, first_seq: int) -> None:
    conn.execute("INSERT INTO sync_epochs (epoch, started_at, reason, first_seq) VALUES (?, ?, ?, ?)",
                 (epoch, _now(), reason[:200], first_seq))


def _now() -> str:
    return datetime.now(UTC).isoformat()
