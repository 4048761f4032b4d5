-- Kitchen tickets: one per (order, station), written in the order's transaction.
-- No foreign key to orders: the orders table belongs to another migration and a ticket is
-- a self-contained copy of what the station must cook (lines as JSON TicketLine list).
CREATE TABLE kitchen_tickets (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    order_number INTEGER NOT NULL,
    order_type TEXT NOT NULL,
    business_day TEXT NOT NULL,
    station TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'withdrawn')),
    lines TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    bumped_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX kitchen_tickets_queue ON kitchen_tickets (status, station, created_at);
CREATE INDEX kitchen_tickets_order ON kitchen_tickets (order_id);
CREATE INDEX kitchen_tickets_bumped ON kitchen_tickets (station, bumped_at);
