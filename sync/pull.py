"""Hub -> edge pull: fetch the outlet's feed after our cursor and apply it atomically.

* The edge asks for every kind it knows (``FEED_KINDS``: catalog, staff, settings); each
  change is a full snapshot of one kind. Its checksum is verified *before* anything is
  written; a page is applied together with its cursor in ONE write transaction
  (``Journal.apply_feed_page`` in one ``JournalStore.write``; the edge's is
  ``edge.sync_state.apply_feed_page``), so a crash leaves either the old catalog, staff,
  settings and cursor or all the new ones.
* After applying (or when nothing changed) the edge's copy of each kind is compared with
  the checksum the hub states for it; a mismatch triggers one snapshot resync.
* ``snapshot_required`` (our cursor is ahead of what the hub stated: a restored hub, another
  hub) makes the edge ask for a snapshot and replace its copies.
* Local outlet decisions (an item marked sold out at the outlet) live in the edge's own
  availability table and are re-applied over each new catalog by ``edge.catalog``; a hub
  change to an unrelated product never clears them. Staff added at the box itself are never
  touched by a staff snapshot (``edge.devices.replace_hub_staff``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import (
    FEED_KINDS,
    PullChange,
    PullResponse,
    catalog_checksum,
    confirmations_checksum,
    floor_checksum,
    payments_checksum,
    settings_checksum,
    staff_checksum,
)
from sync.store import Journal, JournalStore

__all__ = ["ChecksumMismatch", "PullOutcome", "pull_once", "verify_change"]

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
    retry_after: float | None = None  # the hub's Retry-After when it shed the pull

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.refused and not self.error


def verify_change(change: PullChange) -> None:
    """Raise ChecksumMismatch unless the change carries its snapshot and it hashes as stated."""
    if change.kind == "catalog":
        if change.catalog is None:
            raise ChecksumMismatch(f"catalog change {change.cursor} carries no catalog")
        actual = catalog_checksum(change.catalog)
    elif change.kind == "staff":
        if change.staff is None:
            raise ChecksumMismatch(f"staff change {change.cursor} carries no staff")
        actual = staff_checksum(change.staff)
    elif change.kind == "payments":
        if change.payments is None:
            raise ChecksumMismatch(f"payments change {change.cursor} carries no settings")
        actual = payments_checksum(change.payments)
    elif change.kind == "confirmations":
        if change.confirmations is None:
            raise ChecksumMismatch(f"confirmations change {change.cursor} carries none")
        actual = confirmations_checksum(change.confirmations)
    elif change.kind == "floor":
        if change.floor is None:
            raise ChecksumMismatch(f"floor change {change.cursor} carries no floor plan")
        actual = floor_checksum(change.floor)
    else:
        if change.settings is None:
            raise ChecksumMismatch(f"settings change {change.cursor} carries no settings")
        actual = settings_checksum(change.settings)
    if actual != change.checksum:
        raise ChecksumMismatch(f"{change.kind} v{change.version}: checksum {actual[:12]} != "
                               f"hub's {change.checksum[:12]}")


def _differences(response: PullResponse, local: dict[str, str]) -> list[str]:
    """Kinds whose copy on this box differs from what the hub states."""
    stated = dict(response.checksums)
    if response.catalog_checksum:  # a hub of wire version 2 states the catalog only
        stated.setdefault("catalog", response.catalog_checksum)
    return [kind for kind, checksum in sorted(stated.items())
            if checksum and kind in local and local[kind] != checksum]


async def pull_once(store: JournalStore, client: HubClient, *, max_pages: int = 50,
                    on_progress: object = None) -> PullOutcome:
    """Pull pages until the hub has nothing more (a week offline is still one snapshot)."""
    outcome = PullOutcome()
    cursor = await store.read(lambda j: j.pull_cursor())
    snapshot = False
    try:
        for _ in range(max_pages):
            response = await client.pull(cursor, snapshot=snapshot, on_progress=on_progress,
                                         kinds=FEED_KINDS)
            if response.snapshot_required and not snapshot:
                log.warning("hub asks for a snapshot resync", extra={"cursor": cursor})
                snapshot, outcome.resynced = True, True
                continue
            for change in response.changes:
                verify_change(change)
            def apply(journal: Journal, page: PullResponse = response) -> int:
                return journal.apply_feed_page(page)

            outcome.applied += await store.write(apply)
            cursor = outcome.cursor = response.cursor
            outcome.catalog_version = response.catalog_version
            if response.more:
                snapshot = False
                continue
            differ = _differences(response, await store.read(lambda j: j.applied_checksums()))
            if differ:
                if snapshot:
                    raise ChecksumMismatch(f"{', '.join(differ)} still differ(s) from the hub "
                                           "after a snapshot")
                log.warning("copies differ from the hub's checksums: resyncing",
                            extra={"kinds": differ})
                snapshot, outcome.resynced = True, True
                continue
            if response.catalog_checksum or response.checksums.get("catalog"):
                await store.write(lambda j: j.mark_catalog_verified())
                outcome.verified = True
            return outcome
        outcome.error = f"feed did not end after {max_pages} pages"
    except HubUnreachable as exc:
        outcome.unreachable, outcome.error = True, str(exc)
        outcome.retry_after = exc.retry_after
        await store.write(lambda j: j.record_failure(outcome.error, reachable=False,
                                                     refused=False))
    except HubRefused as exc:
        outcome.refused, outcome.error = exc.code or "refused", f"hub refused pull: {exc}"
        await store.write(lambda j: j.record_failure(outcome.error, reachable=True,
                                                     refused=True))
    except ChecksumMismatch as exc:
        outcome.error = str(exc)
        await store.write(lambda j: j.record_failure(outcome.error, reachable=True,
                                                     refused=False))
    except Exception as exc:  # noqa: BLE001 - e.g. a catalog the edge's menu rules reject
        # Nothing of the page was written (one transaction); keep the old copies and cursor.
        outcome.error = f"could not apply the hub's change: {type(exc).__name__}: {exc}"
        log.error("pull apply failed", extra={"error": outcome.error})
        await store.write(lambda j: j.record_failure(outcome.error, reachable=True,
                                                     refused=False))
    return outcome
