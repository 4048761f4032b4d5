-- PIN login throttle (security issue H3; edge/login_throttle.py). One row per scope:
-- 'device:<id>' (the paired device the PIN was typed on) and 'outlet' (every device of the
-- box together). A wrong PIN names nobody, so the outlet-wide row is what bounds the guesses
-- aimed at any one staff member. Kept in the database so a restart does not forgive anything.
--
-- attempts      attempts counted: reserved before the PIN is looked up (so parallel
--               requests cannot all pass the check), given back only by the attempt's own
--               success, forgotten after a window without a wrong PIN
-- last_attempt  unix seconds of the last attempt
-- lockouts      consecutive lockouts: each one lasts twice as long as the one before
-- locked_until  unix seconds; no PIN is looked up for this scope before then
-- last_failure  unix seconds of the last wrong PIN (a quiet day forgets the lockouts)
CREATE TABLE IF NOT EXISTS login_throttle (
    scope TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt REAL NOT NULL DEFAULT 0,
    lockouts INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    last_failure REAL NOT NULL DEFAULT 0
);

-- The customer-facing order board gets a device role of its own, so it no longer runs on a
-- kitchen screen's token (which may log staff in). SQLite cannot change a CHECK in place:
-- the devices table is copied (no other table refers to it).
CREATE TABLE devices_with_board (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('kiosk', 'cashier', 'kds', 'board', 'admin')),
    token_digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at TEXT
);
INSERT INTO devices_with_board (id, name, role, token_digest, created_at, last_seen_at, revoked_at)
    SELECT id, name, role, token_digest, created_at, last_seen_at, revoked_at FROM devices;
DROP TABLE devices;
ALTER TABLE devices_with_board RENAME TO devices;
