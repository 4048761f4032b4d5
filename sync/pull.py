"""Hub -> edge pull: fetch the outlet's feed after our cursor and apply it atomically.

* Each change is a full snapshot (today: the outlet's published catalog). Its checksum is
  verified *before* anything is written; a page is applied together with its cursor in ONE
  write transaction, so a crash leaves either the old catalog and cursor or the new ones.
* After applying (or when nothing changed) the edge's copy is compared with the checksum the
  hub states for the current version; a mismatch triggers a snapshot resync.
* ``snapshot_required`` (our cursor is ahead of, or older than, what the hub keeps) makes
  the edge ask for a snapshot and replace its copy.
* Local outlet decisions (an item marked sold out at the outlet) live in the edge's own
  availability table and are re-applied over each new catalog by ``edge.catalog``; a hub
  change to an unrelated product never clears them.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from edge import sync_state
from edge.db import Database
from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import PullChange, PullResponse, catalog_checksum

__all__ = ["ChecksumMismatch", "PullOutcome", "apply_changes", "pull_once"]

log = logging.getLogger("sync.pull")


class ChecksumMismatch(Exception):
    """A snapshot's content does not match the checksum the hub gave: never applied."""


@dataclass
class PullOutcome:
    applied: int = 0
    cursor: int = 0
    catalog_version: int = 0
    verified: bool = False
    resynced: bool = False
    unreachable: bool = False
    refused: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.refused and not self.error


def _verify(change: PullChange) -> None:
    if change.kind == "catalog":
        if change.catalog is None:
            raise ChecksumMismatch(f"catalog change {change.cursor} carries no catalog")
        actual = catalog_checksum(change.catalog)
        if actual != change.checksum:
            raise ChecksumMismatch(f"catalog v{change.version}: checksum {actual[:12]} != "
                                   f"hub's {change.checksum[:12]}")


def apply_changes(conn: sqlite3.Connection, response: PullResponse) -> int:
    """Apply one verified page and its cursor in the caller's (single) transaction."""
    applied = 0
    for change in response.changes:
        if change.kind == "catalog" and change.catalog is not None:
            sync_state.apply_catalog(conn, change.catalog, change.checksum)
            applied += 1
    sync_state.record_pull(conn, response.cursor)
    return applied


async def pull_once(db: Database, client: HubClient, *, max_pages: int = 50,
                    on_progress: object = None) -> PullOutcome:
    """Pull pages until the hub has nothing more (a week offline is still one snapshot)."""
    outcome = PullOutcome()
    state = await db.read(sync_state.load_state)
    cursor = state["pull_cursor"] if state is not None else 0
    snapshot = False
    try:
        for _ in range(max_pages):
            response = await client.pull(cursor, snapshot=snapshot, on_progress=on_progress)
            if response.snapshot_required and not snapshot:
                log.warning("hub asks for a snapshot resync", extra={"cursor": cursor})
                snapshot, outcome.resynced = True, True
                continue
            for change in response.changes:
                _verify(change)
            outcome.applied += await db.write(lambda c, r=response: apply_changes(c, r))
            cursor = outcome.cursor = response.cursor
            outcome.catalog_version = response.catalog_version
            if response.more:
                snapshot = False
                continue
            local = await db.read(sync_state.catalog_checksum_of)
            if response.catalog_checksum and local != response.catalog_checksum:
                if snapshot:
                    raise ChecksumMismatch("catalog still differs from the hub after a snapshot")
                log.warning("catalog differs from the hub's checksum: resyncing")
                snapshot, outcome.resynced = True, True
                continue
            if response.catalog_checksum:
                await db.write(sync_state.mark_catalog_verified)
                outcome.verified = True
            return outcome
        outcome.error = f"feed did not end after {max_pages} pages"
    except HubUnreachable as exc:
        outcome.unreachable, outcome.error = True, str(exc)
        await db.write(lambda c: sync_state.record_failure(c, outcome.error, reachable=False,
                                                           refused=False))
    except HubRefused as exc:
        outcome.refused, outcome.error = exc.code or "refused", f"hub refused pull: {exc}"
        await db.write(lambda c: sync_state.record_failure(c, outcome.error, reachable=True,
                                                           refused=True))
    except ChecksumMismatch as exc:
        outcome.error = str(exc)
        await db.write(lambda c: sync_state.record_failure(c, outcome.error, reachable=True,
                                                           refused=False))
    except Exception as exc:  # noqa: BLE001 - e.g. a catalog the edge's menu rules reject
        # Nothing of the page was written (one transaction); keep the old menu and cursor.
        outcome.error = f"could not apply the hub's change: {type(exc).__name__}: {exc}"
        log.error("pull apply failed", extra={"error": outcome.error})
        await db.write(lambda c: sync_state.record_failure(c, outcome.error, reachable=True,
                                                           refused=False))
    return outcome
