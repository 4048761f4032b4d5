-- Staff and outlet settings that come down from the hub (pull feed kinds "staff" and
-- "settings"; see docs/sync-protocol.md).

-- Where a staff member was made: 'local' (`pos-edge staff add`, the box's own PIN pepper) or
-- 'hub' (head office; PIN lookup under the tenant's pepper). A hub snapshot replaces all
-- 'hub' rows and never touches 'local' ones.
ALTER TABLE staff ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'hub'));

-- The tenant's PIN pepper, as the last staff snapshot stated it: the key of the hub staff's
-- PIN lookups (the box's own pepper, for local staff, stays in edge.toml).
CREATE TABLE hub_pin_pepper (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pepper TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Version and checksum of the staff and settings snapshots applied, like the catalog's.
ALTER TABLE sync_state ADD COLUMN staff_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN staff_checksum TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_state ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN settings_checksum TEXT NOT NULL DEFAULT '';

-- The pull cursor was the catalog version; it is now the hub's feed position for this
-- outlet. Start over: the next pull fetches one snapshot of every kind.
UPDATE sync_state SET pull_cursor = 0;
