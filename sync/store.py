"""What the sync engine needs from the box it runs in: a journal store (the interface).

``sync/`` never imports the edge. The push and pull loops (``sync.push``, ``sync.pull``,
``sync.engine``) are written against this small interface, and the edge implements it over
its outbox and sync state (``edge.sync_state.EdgeStore``) and hands it in:

    edge.app ──builds──► EdgeStore (edge.outbox + edge.sync_state) ──► SyncEngine(store)

* ``JournalStore`` runs a job in one read snapshot (``read``) or one durable write
  transaction (``write``), and says which hub, credential and outlet it syncs as
  (``hub_link``). A job is a plain function: whatever it does in one call commits together
  or not at all, so the engine decides what belongs in one transaction (an acknowledgement,
  an epoch change and the push record; a feed page and its cursor) and the store decides how
  a transaction is run.
* ``Journal`` is what a job sees inside that transaction: the journal (head, unacknowledged
  entries, resends, ack, epoch rotation, prune), the status the engine records, and the
  feed (cursor, apply one verified page, the checksums of what the box holds).

The rules (what the ack may cover, when an epoch rotates, which failures back off) live in
the engine; the store only keeps the journal's own invariants (gap-free numbers, the hash
chain, an ack that never moves back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from shared.schemas import JournalEntry
from sync.protocol import PullResponse

__all__ = ["HubLink", "Journal", "JournalHead", "JournalStore"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JournalHead:
    """Where the journal stands: its current epoch, last seq written, last seq the hub holds."""

    epoch: str
    seq: int
    acked_seq: int

    @property
    def backlog(self) -> int:
        return self.seq - self.acked_seq


@dataclass(frozen=True, slots=True)
class HubLink:
    """The hub this journal syncs to, the credential it presents and the outlet it is."""

    hub_url: str
    outlet_id: str
    credential: str = field(repr=False)  # never in a log line or a traceback


class Journal(Protocol):
    """One transaction on the box's journal, sync status and feed copies."""

    # -- the journal (outbox) ----------------------------------------------------------

    def head(self) -> JournalHead:
        """The journal's head (raises if the box has no journal)."""
        ...

    def backlog(self) -> int:
        """Events the hub has not acknowledged (0 when there is no journal yet)."""
        ...

    def unacked(self, outlet_id: str, limit: int, max_bytes: int) -> list[JournalEntry]:
        """The oldest unacknowledged entries, capped by count and body bytes (at least one)."""
        ...

    def entries_from(self, outlet_id: str, from_seq: int, epoch: str | None, limit: int,
                     max_bytes: int) -> list[JournalEntry]:
        """Entries from ``from_seq`` on, acknowledged or not (a resend); ``from_seq`` 0 with
        an epoch means from that epoch's first entry still held."""
        ...

    def first_unacked_epoch(self) -> str | None:
        """The epoch of the oldest unacknowledged entry (None: nothing waits)."""
        ...

    def mark_acked(self, acked_seq: int) -> int:
        """Move the ack up to ``acked_seq`` (never back, never past the head); the new ack."""
        ...

    def rotate_epoch(self, reason: str) -> str:
        """Move every unacknowledged entry into a new epoch, re-chained, nothing dropped."""
        ...

    def prune(self, older_than: datetime) -> int:
        """Delete entries acknowledged before ``older_than``; how many went."""
        ...

    # -- status -----------------------------------------------------------------------

    def record_push(self, hub_acked_seq: int, pushed: int) -> None:
        """The hub answered a push (reachable, not refused, the error cleared)."""
        ...

    def record_failure(self, error: str, *, reachable: bool, refused: bool) -> None:
        """A push or pull failed: unreachable (retried) or refused (parked, shown)."""
        ...

    # -- the feed (hub -> box) ---------------------------------------------------------

    def pull_cursor(self) -> int:
        """The feed position applied last (0: nothing yet)."""
        ...

    def apply_feed_page(self, page: PullResponse) -> int:
        """Apply one verified page and its cursor (in this transaction); changes applied."""
        ...

    def applied_checksums(self) -> dict[str, str]:
        """Checksum of what the box holds of each feed kind ("" for none)."""
        ...

    def mark_catalog_verified(self) -> None:
        """The box's catalog matched the hub's stated checksum."""
        ...


class JournalStore(Protocol):
    """The box's side of sync: runs jobs on its journal and names its hub link."""

    def hub_link(self) -> HubLink | None:
        """The hub link as configured now (None: not provisioned). Cheap: called every tick,
        so a credential replaced while running is picked up."""
        ...

    async def read(self, job: Callable[[Journal], T]) -> T:
        """Run ``job`` on one consistent read snapshot."""
        ...

    async def write(self, job: Callable[[Journal], T]) -> T:
        """Run ``job`` in one durable write transaction; its result after the commit."""
        ...
