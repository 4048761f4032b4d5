"""The hub's side of sync: what comes in from the outlets' boxes and what goes out to them.

One package owns every sync concept on the hub (the wire protocol itself is ``sync.protocol``):

* ``enrollment``: one-time codes, sync credentials, and resolving a bearer credential to the
  outlet it belongs to (``authenticate`` -> ``SyncIdentity``);
* ``push``: a pushed journal batch checked against the outlet's journal (cursor, hash chain,
  gaps, conflicts) and stored, in one transaction;
* ``push_fast``: the same for a plain batch (the common case) without an ORM session;
* ``decode``: event bodies decoded and hash-checked before any database work;
* ``apply``: the one event -> row mapping of the reporting tables (orders, payments, kitchen
  events, shifts, cash movements, availability), set-based, with the per-event fallback;
* ``store``: the set-based SQL of that mapping (PostgreSQL: rows as JSON arrays; portable Core);
* ``quarantine``: events held but not applied, and their retry or dismissal;
* ``status``: the fleet view of each outlet's sync health (``outlet_status``) and alarms;
* ``feed``: the outlet feed a box pulls (catalog, staff, settings);
* ``retention``: pruning applied journal entries past the retention period.

Arrows point one way: ``api`` -> ``push`` / ``feed`` / ``enrollment`` -> ``apply`` ->
``store``; ``status`` and ``decode`` are leaves.
"""

from __future__ import annotations

from hub.ingest.enrollment import CredentialRevoked, OutletInactive, SyncIdentity, authenticate
from hub.ingest.push import JournalRefused, ingest_push
from hub.ingest.quarantine import resolve_quarantined

__all__ = [
    "CredentialRevoked",
    "JournalRefused",
    "OutletInactive",
    "SyncIdentity",
    "authenticate",
    "ingest_push",
    "resolve_quarantined",
]
