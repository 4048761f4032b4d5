-- Refunds, till discounts and their approvals (issue 11).

-- Head office's discount rules for the outlet (pull feed kind "settings"): the reasons a
-- discount may be given for (JSON list; empty = any reason) and the percentage of the
-- subtotal above which a manager approves it (NULL = every discount needs a manager).
ALTER TABLE outlet ADD COLUMN discount_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE outlet ADD COLUMN discount_approval_percent INTEGER
    CHECK (discount_approval_percent BETWEEN 0 AND 100);

-- Money given back for a handed-over order. The row is written (status 'pending' for a
-- gateway refund) in the transaction that checks there is room for it, so parallel
-- requests can never give back more than was paid; a failed gateway refund releases it.
-- snapshot is the shared.schemas.Refund as it is now.
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    payment_id TEXT,
    method TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    shift_id TEXT,
    device_id TEXT,
    created_at TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_shift ON refunds (shift_id, method, status);

-- Idempotency keys of refunds, per device, like payment_idempotency_keys (never pruned: a
-- key forgotten while a device still retries it would let the retry refund twice).
CREATE TABLE refund_idempotency_keys (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    refund_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
