-- Staff PIN verifiers (security issue H2; shared/pins.py, docs/security.md).
--
-- A staff row's pin_lookup becomes its *verifier*: argon2id(PIN) under a salt, 64 hex
-- characters; a login derives it once from the typed PIN and finds the one row by it
-- (pin_hash stays empty). One salt and cost per source of staff:
--   'local'  this box's own random salt, made here (`pos-edge staff add`)
--   'hub'    the outlet's salt from head office, replaced by every staff snapshot
CREATE TABLE pin_kdf (
    source TEXT PRIMARY KEY CHECK (source IN ('local', 'hub')),
    salt TEXT NOT NULL,
    kdf TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO pin_kdf (source, salt, kdf, updated_at)
VALUES ('local', lower(hex(randomblob(16))), 'argon2id$v=19$m=65536,t=3,p=1',
        strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));

-- 'legacy': a local row from before this migration (argon2 hash + HMAC lookup under the
-- box's pepper). It still logs in, and its first login rewrites it as a 'verifier' row.
ALTER TABLE staff ADD COLUMN pin_scheme TEXT NOT NULL DEFAULT 'legacy'
    CHECK (pin_scheme IN ('legacy', 'verifier'));

-- Hub staff came with the tenant-wide pepper that any sync credential could read: that
-- material is dropped, and the next pull brings the outlet's verifiers (an empty staff
-- checksum differs from the hub's, which asks for a staff snapshot).
UPDATE staff SET pin_hash = '', pin_lookup = 'none:' || id, pin_scheme = 'verifier'
WHERE source = 'hub';
DELETE FROM hub_pin_pepper;
UPDATE sync_state SET staff_checksum = '';
