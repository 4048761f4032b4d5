"""The sync pull's fast path: "caught up, nothing new" in two statements, without the ORM.

Most pulls in steady state come from an edge that holds the feed's head and asks again:
the answer is an empty page that restates every kind's version and checksum. The full path
(``hub.ingest.feed.outlet_feed``) finds that out by rebuilding the outlet's settings and
staff snapshots and checksumming them, across three ORM transactions and a dozen
statements (docs/scaling.md, "Per request"). Here, on PostgreSQL:

1. **The credential, on the system connection** (BYPASSRLS, as ``enrollment.authenticate``):
   the credential row and its outlet's ``active``, by the token's digest, and in the same
   statement the pull is recorded on the outlet's status row (``touch_status``: last contact
   and last pull), only when the credential is valid. Read from the primary on every pull:
   a revoked credential is refused at once on every replica, nothing is cached.
2. **What the feed is built from, on the tenant's kept connection** (``Database.reader``,
   primary: RLS for the credential's tenant, and every subquery filters ``tenant_id`` too):
   the outlet's settings, its PIN salt, its staff and their current verifiers, its newest
   catalog version and its stated feed rows, in one row.

The settings and staff checksums are then computed from those rows exactly as the full path
builds them. Only if every kind the full path would state matches its stated row, no staff
member waits for a verifier and the cursor is the feed's head, is the empty page answered
here; anything else (a change to send, a cursor to repair, a credential to refuse with its
exact error, a status row not made yet, a kind this path does not build) is ``None``: the
caller runs the full path. A difference in how the two build a checksum can therefore only
send a pull to the full path, never hide a change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import msgspec
from sqlalchemy import text

from hub.db import Database
from hub.ingest import feed
from hub.ingest.enrollment import SyncIdentity, digest
from hub.models import Outlet
from shared import pins
from sync.protocol import (
    PullResponse,
    StaffRecord,
    StaffSnapshot,
    settings_checksum,
    staff_checksum,
)

__all__ = ["FAST_KINDS", "caught_up"]

# The kinds this path rebuilds; a pull that asks for another (payments, confirmations, floor)
# or for none (the wire-version-2 catalog feed) takes the full path.
FAST_KINDS = frozenset({"catalog", "staff", "settings"})

_CREDENTIAL_SQL = """
WITH c AS (
    SELECT sc.id, sc.tenant_id, sc.outlet_id, sc.revoked_at, o.active
    FROM sync_credentials AS sc JOIN outlets AS o ON o.id = sc.outlet_id
    WHERE sc.secret_digest = $1::text
), t AS (
    UPDATE outlet_status AS s
    SET last_contact_at = $2::timestamptz, last_pull_at = $2::timestamptz,
        updated_at = $2::timestamptz
    FROM c
    WHERE s.outlet_id = c.outlet_id AND s.tenant_id = c.tenant_id
      AND c.revoked_at IS NULL AND c.active
    RETURNING s.outlet_id
)
SELECT c.id, c.tenant_id, c.outlet_id, c.revoked_at IS NULL AND c.active AS valid,
       (SELECT count(*) FROM t) AS touched
FROM c
"""

# One row: what the settings, staff and catalog kinds are built from, and the stated feed.
# The staff rows mirror hub.staff.outlet_snapshot (active, working at the outlet, a verifier
# under the outlet's salt and the current KDF for their PIN version); those without one but
# with a PIN are the ones hub.staff.ensure_verifiers would derive ("waiting").
_FEED_STATE = text("""
SELECT o.name, o.timezone, o.settings::text AS settings,
  (SELECT ps.salt FROM outlet_pin_salts AS ps
   WHERE ps.outlet_id = :outlet_id AND ps.tenant_id = :tenant_id) AS salt,
  (SELECT max(cs.version) FROM catalog_snapshots AS cs
   WHERE cs.outlet_id = :outlet_id AND cs.tenant_id = :tenant_id) AS catalog_version,
  (SELECT coalesce(json_agg(json_build_array(f.kind, f.position, f.version, f.checksum)),
                   '[]')::text
   FROM outlet_feed AS f WHERE f.outlet_id = :outlet_id AND f.tenant_id = :tenant_id) AS feed,
  (SELECT coalesce(json_agg(json_build_array(m.id, m.name, m.role, v.verifier,
                                             m.pin_sealed <> '') ORDER BY m.id), '[]')::text
   FROM staff AS m
   LEFT JOIN staff_pin_verifiers AS v
     ON v.staff_id = m.id AND v.outlet_id = :outlet_id AND v.pin_version = m.pin_version
    AND v.salt = (SELECT ps.salt FROM outlet_pin_salts AS ps
                  WHERE ps.outlet_id = :outlet_id AND ps.tenant_id = :tenant_id)
    AND v.kdf = :kdf AND v.tenant_id = :tenant_id
   WHERE m.tenant_id = :tenant_id AND m.active
     AND (m.all_outlets OR m.id IN (SELECT so.staff_id FROM staff_outlets AS so
                                    WHERE so.outlet_id = :outlet_id
                                      AND so.tenant_id = :tenant_id))) AS staff
FROM outlets AS o
WHERE o.id = :outlet_id AND o.tenant_id = :tenant_id
""")

_FeedRows = list[tuple[str, int, int, str]]
_StaffRows = list[tuple[str, str, str, str | None, bool]]
_KDF = pins.PIN_KDF.encode()


async def caught_up(db: Database, token: str | None, cursor: int, snapshot: bool,
                    kinds: frozenset[str]) -> tuple[PullResponse | None, SyncIdentity | None]:
    """(the empty page of a caught-up edge, its outlet) or (None, ...): the full path answers
    (see above), for the outlet given if the credential was found valid (no second check),
    else after ``enrollment.authenticate`` (which refuses it with its exact error)."""
    if (not token or snapshot or not kinds or not kinds <= FAST_KINDS
            or not db.is_postgres or db.pgbouncer):
        return None, None
    now = datetime.now(UTC)
    async with db.system_statement() as system:
        found = await system.plain("fetchrow", _CREDENTIAL_SQL, digest(token), now)
    if found is None or not found["valid"]:
        return None, None  # unknown, revoked or inactive: refused by the full path
    who = SyncIdentity(found["tenant_id"], found["outlet_id"], found["id"])
    if not found["touched"]:
        return None, who  # first contact: the full path makes the status row
    async with db.reader(who.tenant_id, primary=True) as reader:
        state = await reader.first(_FEED_STATE, outlet_id=who.outlet_id, kdf=_KDF)
    if state is None or state["salt"] is None:
        return None, who
    return _empty_page(state, cursor, now), who


def _empty_page(state: Any, cursor: int, now: datetime) -> PullResponse | None:
    staff_rows = msgspec.json.decode(state["staff"], type=_StaffRows)
    if any(verifier is None and sealed for _, _, _, verifier, sealed in staff_rows):
        return None  # a verifier to derive first (hub.staff.ensure_verifiers)
    outlet = SimpleNamespace(name=state["name"], timezone=state["timezone"],
                             settings=msgspec.json.decode(state["settings"] or "null"))
    current = {
        "settings": settings_checksum(feed.outlet_settings(cast(Outlet, outlet))),
        "staff": staff_checksum(StaffSnapshot(pin_salt=state["salt"], pin_kdf=_KDF, staff=[
            StaffRecord(id=sid, name=name, role=role, pin_hash="", pin_lookup=f"none:{sid}",
                        pin_verifier=verifier)
            for sid, name, role, verifier, _ in staff_rows if verifier is not None]))}
    stated = {kind: (position, version, checksum)
              for kind, position, version, checksum in
              msgspec.json.decode(state["feed"], type=_FeedRows)}
    catalog_version = state["catalog_version"]
    for kind, checksum in current.items():
        if kind not in stated or stated[kind][2] != checksum:
            return None
    if catalog_version is not None:
        if "catalog" not in stated or stated["catalog"][1] != catalog_version:
            return None
        current["catalog"] = stated["catalog"][2]
    head = max((position for position, _, _ in stated.values()), default=0)
    if cursor != head:
        return None  # changes to send, or a cursor to repair
    catalog = stated.get("catalog")
    return PullResponse(
        cursor=cursor, changes=[], snapshot_required=False,
        catalog_version=catalog[1] if catalog else 0,
        catalog_checksum=catalog[2] if catalog else "", hub_time=now,
        versions={k: v for k, (_, v, _) in stated.items() if k in current},
        checksums={k: c for k, (_, _, c) in stated.items() if k in current})
