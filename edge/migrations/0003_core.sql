-- Edge core: outlet identity and settings, the local catalog, paired devices, staff,
-- orders with their lines and payments, and idempotency keys.

-- The outlet this box serves (one row). A provisioned box takes its identity from
-- sync_state (the hub's outlet); this row holds the local identity and outlet settings.
CREATE TABLE outlet (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    outlet_id TEXT NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    kitchen_trigger TEXT NOT NULL DEFAULT 'place' CHECK (kitchen_trigger IN ('place', 'payment')),
    business_day_start_hour INTEGER NOT NULL DEFAULT 0 CHECK (business_day_start_hour BETWEEN 0 AND 23),
    created_at TEXT NOT NULL
);

-- Catalog header: hub version, currency, tax configuration and a local revision that changes
-- on every catalog or availability change (the menu's ETag and the in-memory cache key).
CREATE TABLE catalog_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'IDR',
    tax TEXT NOT NULL DEFAULT '{}',           -- JSON TaxConfig
    updated_at TEXT NOT NULL
);

CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    station TEXT NOT NULL DEFAULT 'kitchen',
    sort INTEGER NOT NULL DEFAULT 0,
    color TEXT NOT NULL DEFAULT '',
    names TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE modifier_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    min_choices INTEGER NOT NULL DEFAULT 0,
    max_choices INTEGER NOT NULL DEFAULT 1,
    sort INTEGER NOT NULL DEFAULT 0,
    names TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE modifier_options (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES modifier_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    price_delta INTEGER NOT NULL DEFAULT 0,
    available INTEGER NOT NULL DEFAULT 1,
    sort INTEGER NOT NULL DEFAULT 0,
    names TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX modifier_options_group ON modifier_options (group_id, sort);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    category_id TEXT NOT NULL,
    name TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    description TEXT NOT NULL DEFAULT '',
    image_url TEXT NOT NULL DEFAULT '',
    color TEXT NOT NULL DEFAULT '',
    available INTEGER NOT NULL DEFAULT 1,       -- as the hub published it
    modifier_group_ids TEXT NOT NULL DEFAULT '[]',
    sort INTEGER NOT NULL DEFAULT 0,
    names TEXT NOT NULL DEFAULT '{}'
);

-- Outlet-local sold-out decisions; they survive a catalog replaced from the hub.
CREATE TABLE availability_overrides (
    product_id TEXT PRIMARY KEY,
    available INTEGER NOT NULL,
    set_by TEXT,
    updated_at TEXT NOT NULL
);

-- Paired devices (kiosks, cashier tablets, kitchen screens). Only the token's SHA-256 is kept.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('kiosk', 'cashier', 'kds', 'admin')),
    token_digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at TEXT
);

-- Staff who log in with a PIN on a paired device. pin_hash is argon2id; pin_lookup is an
-- HMAC of the PIN under the box's pepper, so a login finds its row without trying every hash.
CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('cashier', 'kitchen', 'manager')),
    pin_hash TEXT NOT NULL,
    pin_lookup TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX staff_pin_lookup ON staff (pin_lookup) WHERE active = 1;

-- Daily queue numbers: one counter per business day.
CREATE TABLE order_numbers (
    business_day TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
);

-- Orders. `snapshot` is the full shared.schemas.Order as JSON (what the API returns and the
-- outbox carries); the other columns exist for queries and for the kitchen/shift modules.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    business_day TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placed', 'in_kitchen', 'ready', 'completed', 'voided', 'cancelled')),
    total INTEGER NOT NULL CHECK (total >= 0),
    paid INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    device_id TEXT,
    staff_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_day_number ON orders (business_day, number);
CREATE INDEX orders_status ON orders (status, created_at);
CREATE INDEX orders_created ON orders (created_at);

CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    position INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    unit_price INTEGER NOT NULL,
    line_total INTEGER NOT NULL,
    station TEXT NOT NULL,
    modifiers TEXT NOT NULL DEFAULT '[]',      -- JSON list of LineModifier
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    method TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    tendered INTEGER NOT NULL DEFAULT 0,
    change INTEGER NOT NULL DEFAULT 0,
    reference TEXT NOT NULL DEFAULT '',
    shift_id TEXT,
    staff_id TEXT,
    device_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_shift ON payments (shift_id);

-- Idempotency keys for order creation, per device: the key, a hash of the request body and
-- the order it created, written in the order's own transaction.
CREATE TABLE idempotency_keys (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
