-- Guest ordering at the table (issue 12, docs/table-service.md "Guest ordering").
--
-- One row per thing a guest asked for from the table's QR page: a round of items
-- (kind 'order') or a call (kind 'waiter' or 'bill'). An order is 'accepted' at once when
-- the outlet sends guest orders straight to the kitchen, else 'pending' until a waiter
-- accepts it (the round is then added as that waiter) or rejects it. A call is 'pending'
-- until staff acknowledge it ('accepted'). order_id and round name the bill and round the
-- items went into; decided_by is the staff member who accepted or rejected (never shown to
-- the guest). body is the JSON list of shared.schemas.OrderLineCreate to add; lines is what
-- the guest saw priced when they sent it (names, quantities, line totals) and subtotal
-- their sum (before service and tax).
-- The guest's Idempotency-Key is unique per table: a retried send returns the same row.
-- Deliberately no foreign key to the floor tables or orders: the floor plan is replaced
-- whole when head office publishes it, and a request outlives a table that was renamed.
CREATE TABLE guest_requests (
    id TEXT PRIMARY KEY,
    table_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'waiter', 'bill')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    body TEXT NOT NULL DEFAULT '[]',
    lines TEXT NOT NULL DEFAULT '[]',
    subtotal INTEGER NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    idempotency_key TEXT,
    request_hash TEXT NOT NULL DEFAULT '',
    order_id TEXT,
    round INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    decided_by TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE UNIQUE INDEX guest_requests_key ON guest_requests (table_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX guest_requests_table ON guest_requests (table_id, created_at);
CREATE INDEX guest_requests_status ON guest_requests (status, created_at);
