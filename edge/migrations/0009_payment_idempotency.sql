-- Idempotency keys for payments, per device: a retried payment request (same key, same
-- body, same order) is answered from here instead of recording the payment twice. The row
-- is written in the payment's own transaction.
--
-- A table of its own rather than a `kind` and a `payment_id` column on idempotency_keys:
-- there order_id is what the key created, here it is what the request named (the result
-- is payment_id). One table would give order_id two meanings, a nullable payment_id and a
-- kind filter on every lookup, and would break "one order key row per order". Like order
-- keys these rows are never pruned: a key forgotten while a device still retries it would
-- let the retry pay twice, and a row is smaller than the payment it guards.
CREATE TABLE payment_idempotency_keys (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
