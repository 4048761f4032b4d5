-- Edge-side sync state. The credential itself is not here: it lives in the 0600 config file
-- written by `pos-edge provision` (sync.toml in the data folder), so a copied database
-- cannot push as this outlet.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hub_url TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    outlet_id TEXT NOT NULL,
    outlet_name TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    credential_id TEXT NOT NULL,
    provisioned_at TEXT NOT NULL,
    pull_cursor INTEGER NOT NULL DEFAULT 0,    -- last hub feed cursor applied (with its data)
    catalog_version INTEGER NOT NULL DEFAULT 0,
    catalog_checksum TEXT NOT NULL DEFAULT '',
    catalog_verified_at TEXT,                  -- last time our copy matched the hub's checksum
    last_push_at TEXT,                         -- last push the hub answered
    last_pull_at TEXT,                         -- last pull the hub answered
    last_attempt_at TEXT,
    last_error TEXT,                           -- NULL after a success
    last_error_at TEXT,
    hub_reachable INTEGER NOT NULL DEFAULT 0,  -- did the last attempt reach the hub?
    refused INTEGER NOT NULL DEFAULT 0,        -- the hub refused us (revoked, broken chain)
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    hub_acked_seq INTEGER NOT NULL DEFAULT 0,  -- what the hub last said it holds of our epoch
    pushed_total INTEGER NOT NULL DEFAULT 0,
    epoch_changes INTEGER NOT NULL DEFAULT 0
);

-- Catalog snapshots pulled from the hub, kept whole so a catalog is never half-applied and
-- the applied copy can be re-checked against the hub's checksum.
CREATE TABLE sync_catalog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    body TEXT NOT NULL,          -- canonical JSON of shared.schemas.Catalog as the hub sent it
    applied_at TEXT NOT NULL
);

-- Epochs this box has used; a restored or re-created database starts a new one and the
-- previous one is kept here for the record.
CREATE TABLE sync_epochs (
    epoch TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    first_seq INTEGER NOT NULL DEFAULT 1
);
