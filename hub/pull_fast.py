"""The sync pull's fast path: pages of the catalog, staff and settings kinds in two
statements without the ORM, plus one transaction when there is a change to record.

Most pulls in steady state come from an edge that holds the feed's head and asks again:
the answer is an empty page that restates every kind's version and checksum. After head
office changes something, every outlet pulls it at once. The full path
(``hub.ingest.feed.outlet_feed``) rebuilds the outlet's settings and staff snapshots and
checksums them across three ORM transactions and a dozen statements (docs/scaling.md, "Per
request" and "Pulls that carry content"). Here, on PostgreSQL:

1. **The credential, on the system connection** (BYPASSRLS, as ``enrollment.authenticate``):
   the credential row and its outlet's ``active``, by the token's digest, and in the same
   statement the pull is recorded on the outlet's status row (``touch_status``: last contact
   and last pull), only when the credential is valid. Read from the primary on every pull:
   a revoked credential is refused at once on every replica, nothing is cached.
2. **What the feed is built from, on the tenant's kept connection** (``Database.reader``,
   primary: RLS for the credential's tenant, and every subquery filters ``tenant_id`` too):
   the outlet's settings, its PIN salt, its staff and their current verifiers, its newest
   catalog version and its stated feed rows, in one row; with them the newest catalog as
   stored when this pull needs it (a version not stated yet, or one the page carries).

The settings and staff snapshots and checksums are then built from those rows exactly as
the full path builds them (``feed.outlet_settings``, the same ``StaffSnapshot``). A kind
whose content differs from its stated row is recorded by ``feed.advance`` (the full path's
rules, one transaction under the outlet's lock on ``Database.writer``'s connection: BEGIN
and the tenant in one round trip, the lock, the stated rows, one upsert, COMMIT); the page
is ``feed.feed_page``, the full path's own builder; a catalog it carries is decoded once
per content (``feed.CATALOGS``), read by statement 2 (or, if the feed moved meanwhile, one
more). ``caught_up`` answers only the empty page of an edge at the head; ``pull`` any page
of these kinds. Anything else (a credential
to refuse with its exact error, a status row not made yet, a staff member waiting for a PIN
verifier, a kind this path does not build, SQLite) is ``None``: the caller runs the full
path. Behind PgBouncer in transaction mode each of these runs in an explicit transaction
(statement 1 in ``BEGIN`` ... ``COMMIT``, statement 2 in ``BEGIN READ ONLY`` ... ``COMMIT``,
a change recorded in one transaction), so its parse and execution reach one server connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

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

__all__ = ["FAST_KINDS", "caught_up", "pull"]

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
# with a PIN are the ones hub.staff.ensure_verifiers would derive ("waiting"). The newest
# catalog's stored text comes too when the pull needs it: a version the feed has not stated
# yet (to checksum it), or one the page sends (after the cursor, a snapshot, a lost cursor).
_FEED_STATE = text("""
SELECT o.name, o.timezone, o.settings::text AS settings,
  (SELECT ps.salt FROM outlet_pin_salts AS ps
   WHERE ps.outlet_id = :outlet_id AND ps.tenant_id = :tenant_id) AS salt,
  cv.version AS catalog_version,
  (SELECT cs.catalog::text FROM catalog_snapshots AS cs
   WHERE cs.outlet_id = :outlet_id AND cs.tenant_id = :tenant_id AND cs.version = cv.version
     AND (CAST(:every AS boolean)
          OR CAST(:cursor AS bigint) > (SELECT coalesce(max(f.position), 0)
                                        FROM outlet_feed AS f WHERE f.outlet_id = :outlet_id
                                          AND f.tenant_id = :tenant_id)
          OR NOT EXISTS (SELECT 1 FROM outlet_feed AS f
                         WHERE f.outlet_id = :outlet_id AND f.tenant_id = :tenant_id
                           AND f.kind = 'catalog' AND f.version = cv.version
                           AND f.position <= CAST(:cursor AS bigint)))) AS catalog,
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
CROSS JOIN LATERAL (SELECT max(cs.version) AS version FROM catalog_snapshots AS cs
                    WHERE cs.outlet_id = :outlet_id AND cs.tenant_id = :tenant_id) AS cv
WHERE o.id = :outlet_id AND o.tenant_id = :tenant_id
""")

_FeedRows = list[tuple[str, int, int, str]]
_StaffRows = list[tuple[str, str, str, str | None, bool]]
_KDF = pins.PIN_KDF.encode()

# The catalog a page carries, as stored (its text is the key of ``feed.CATALOGS``).
_CATALOG_TEXT = text("""
SELECT cs.catalog::text AS catalog FROM catalog_snapshots AS cs
WHERE cs.outlet_id = :outlet_id AND cs.version = :version AND cs.tenant_id = :tenant_id
""")


class _State(NamedTuple):
    """What the two statements found: the outlet, and what its feed holds and states."""

    who: SyncIdentity
    current: dict[str, feed.Current]
    stated: dict[str, feed.Stated]


async def caught_up(db: Database, token: str | None, cursor: int, snapshot: bool,
                    kinds: frozenset[str]) -> tuple[PullResponse | None, SyncIdentity | None]:
    """(the empty page of a caught-up edge, its outlet) or (None, ...): the full path answers
    (see above), for the outlet given if the credential was found valid (no second check),
    else after ``enrollment.authenticate`` (which refuses it with its exact error)."""
    if snapshot:
        return None, None
    now = datetime.now(UTC)
    state, who = await _state(db, token, kinds, now, cursor, False)
    if state is None:
        return None, who
    if feed.changed(state.current, state.stated):
        return None, who
    head = max((row.position for row in state.stated.values()), default=0)
    if cursor != head:
        return None, who  # changes to send, or a cursor to repair
    return feed.feed_page(state.stated, state.current, kinds, cursor, False, now), who


async def pull(db: Database, token: str | None, cursor: int, snapshot: bool,
               kinds: frozenset[str]) -> tuple[PullResponse | None, SyncIdentity | None]:
    """The page of any pull this path can build (see above), or (None, ...) as
    ``caught_up``: the full path answers. A change found is recorded in the outlet's feed
    first (``feed.advance``: one transaction, under the outlet's lock)."""
    now = datetime.now(UTC)
    state, who = await _state(db, token, kinds, now, cursor, snapshot)
    if state is None or who is None:
        return None, who
    stated = state.stated
    if feed.changed(state.current, stated):
        stated = await feed.advance(db, who, state.current, now)
    catalog = state.current.get("catalog")
    if catalog is not None and "catalog" in feed.sent_kinds(stated, state.current, kinds,
                                                            cursor, snapshot):
        version = stated["catalog"].version
        if catalog.catalog_loaded != version:
            async with db.reader(who.tenant_id, primary=True) as reader:
                found = await reader.first(_CATALOG_TEXT, outlet_id=who.outlet_id,
                                           version=version)
            if found is None:
                return None, who
            catalog.load(version, *feed.CATALOGS.get(who.tenant_id, found["catalog"]))
    return feed.feed_page(stated, state.current, kinds, cursor, snapshot, now), who


async def _state(db: Database, token: str | None, kinds: frozenset[str], now: datetime,
                 cursor: int, snapshot: bool) -> tuple[_State | None, SyncIdentity | None]:
    if not token or not kinds or not kinds <= FAST_KINDS or not db.is_postgres:
        return None, None
    async with db.system_statement() as system:
        found = await system.plain("fetchrow", _CREDENTIAL_SQL, digest(token), now)
    if found is None or not found["valid"]:
        return None, None  # unknown, revoked or inactive: refused by the full path
    who = SyncIdentity(found["tenant_id"], found["outlet_id"], found["id"])
    if not found["touched"]:
        return None, who  # first contact: the full path makes the status row
    async with db.reader(who.tenant_id, primary=True) as reader:
        row = await reader.first(_FEED_STATE, outlet_id=who.outlet_id, kdf=_KDF,
                                 cursor=cursor, every=snapshot)
    if row is None or row["salt"] is None:
        return None, who
    current = _current(who, row)
    if current is None:
        return None, who
    stated = {kind: feed.Stated(position, version, checksum)
              for kind, position, version, checksum in
              msgspec.json.decode(row["feed"], type=_FeedRows)}
    return _State(who, current, stated), who


def _current(who: SyncIdentity, row: Any) -> dict[str, feed.Current] | None:
    """The settings, staff and catalog kinds as ``feed.outlet_feed`` builds them, or None
    when a staff member waits for a PIN verifier (``hub.staff.ensure_verifiers`` first)."""
    staff_rows = msgspec.json.decode(row["staff"], type=_StaffRows)
    if any(verifier is None and sealed for _, _, _, verifier, sealed in staff_rows):
        return None
    outlet = SimpleNamespace(name=row["name"], timezone=row["timezone"],
                             settings=msgspec.json.decode(row["settings"] or "null"))
    settings = feed.outlet_settings(cast(Outlet, outlet))
    roster = StaffSnapshot(pin_salt=row["salt"], pin_kdf=_KDF, staff=[
        StaffRecord(id=sid, name=name, role=role, pin_hash="", pin_lookup=f"none:{sid}",
                    pin_verifier=verifier)
        for sid, name, role, verifier, _ in staff_rows if verifier is not None])
    current = {
        "settings": feed.Current("settings", settings_checksum(settings), settings=settings),
        "staff": feed.Current("staff", staff_checksum(roster), staff=roster)}
    version = row["catalog_version"]
    if version is not None:
        catalog = current["catalog"] = feed.Current("catalog", catalog_version=version)
        if row["catalog"] is not None:
            catalog.load(version, *feed.CATALOGS.get(who.tenant_id, row["catalog"]))
    return current
