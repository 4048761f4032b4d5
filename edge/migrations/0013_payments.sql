-- Cashless payments (issue 11): the outlet's gateway settings and its payment attempts.

-- The gateway this outlet takes QRIS and e-wallet payments through. One row. `source` says
-- who set it: 'local' (`python -m edge.payments configure`) or 'hub' (the pull feed's
-- "payments" kind, which wins once it arrives). server_key is the gateway secret the box
-- needs to call the gateway; it is never returned by the API nor logged.
CREATE TABLE payment_gateway (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    provider TEXT NOT NULL DEFAULT 'none' CHECK (provider IN ('none', 'midtrans', 'xendit')),
    api_base_url TEXT NOT NULL DEFAULT '',
    server_key TEXT NOT NULL DEFAULT '',
    qr_expiry_seconds INTEGER NOT NULL DEFAULT 300 CHECK (qr_expiry_seconds BETWEEN 10 AND 86400),
    static_qris TEXT NOT NULL DEFAULT '',
    ewallet_channels TEXT NOT NULL DEFAULT '[]',  -- JSON list of channel names
    source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'hub')),
    updated_at TEXT NOT NULL
);

-- One try at a cashless payment. gateway_order_id is what the gateway knows the charge by
-- (the attempt id); gateway_ref the gateway's own id of it (Midtrans transaction_id, Xendit
-- qr_/ewc_ id), transaction_id the gateway's id of the payment when it was paid.
-- payment_id is set in the transaction that records the payment: an attempt pays at most once.
CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    method TEXT NOT NULL CHECK (method IN ('qris', 'ewallet')),
    channel TEXT NOT NULL DEFAULT '',
    gateway TEXT NOT NULL CHECK (gateway IN ('midtrans', 'xendit', 'static')),
    gateway_order_id TEXT NOT NULL UNIQUE,
    gateway_ref TEXT NOT NULL DEFAULT '',
    amount INTEGER NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'expired', 'cancelled', 'failed')),
    qr_string TEXT NOT NULL DEFAULT '',
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    payment_id TEXT,
    transaction_id TEXT NOT NULL DEFAULT '',
    late INTEGER NOT NULL DEFAULT 0,
    device_id TEXT,   -- who asked for it (a kiosk may read only its own orders' attempts)
    staff_id TEXT,
    next_poll_at TEXT NOT NULL DEFAULT '',  -- when the poller asks the gateway again
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payment_attempts_order ON payment_attempts (order_id, created_at);
CREATE INDEX payment_attempts_open ON payment_attempts (status, next_poll_at);

-- Idempotency keys of attempt creation, per device (like payment_idempotency_keys).
CREATE TABLE payment_attempt_keys (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
