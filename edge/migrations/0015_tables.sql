-- Table service (issue 12): the floor plan, tables that need cleaning, bills (dine-in orders
-- at a table) with their amendments' idempotency keys, and kitchen tickets per round/course.

-- The table a dine-in bill is open at (NULL: counter, kiosk, takeaway).
ALTER TABLE orders ADD COLUMN table_id TEXT;
CREATE INDEX orders_table ON orders (table_id, status) WHERE table_id IS NOT NULL;

-- Orders may now be "split" (closed into parts) or "merged" (lines moved into another bill).
-- SQLite cannot alter a CHECK constraint; widening an IN list is the case its documentation
-- allows through writable_schema (no row can violate the wider constraint). It runs after the
-- ALTER TABLE (which edits the stored text by offsets); the CREATE statements below bump the
-- schema cookie, so every other connection reloads the schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''completed'', ''voided'', ''cancelled'')',
                     '''completed'', ''voided'', ''cancelled'', ''split'', ''merged'')')
 WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = OFF;
PRAGMA writable_schema = RESET;

-- The outlet's floor plan as head office sent it (one row, shared.schemas.FloorPlan as JSON).
CREATE TABLE floor_plan (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL DEFAULT 0,
    plan TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Per table: its last bill was completed and nobody marked it clean yet.
CREATE TABLE table_state (
    table_id TEXT PRIMARY KEY,
    needs_cleaning INTEGER NOT NULL DEFAULT 0,
    last_order_id TEXT,
    updated_at TEXT NOT NULL
);

-- Idempotency keys of bill amendments (seat, add round, fire, void line, ...), per device:
-- the action, a hash of what was asked and the bill it changed, in the change's transaction.
CREATE TABLE bill_idempotency_keys (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    action TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
CREATE INDEX bill_idempotency_keys_created ON bill_idempotency_keys (created_at);

-- Kitchen tickets of a bill: its table, round and course, and the order lines they carry
-- (JSON list of line ids, so a voided line's ticket can be found).
ALTER TABLE kitchen_tickets ADD COLUMN table_name TEXT NOT NULL DEFAULT '';
ALTER TABLE kitchen_tickets ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kitchen_tickets ADD COLUMN course TEXT NOT NULL DEFAULT '';
ALTER TABLE kitchen_tickets ADD COLUMN line_ids TEXT NOT NULL DEFAULT '[]';

PRAGMA writable_schema = RESET;
