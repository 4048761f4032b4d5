-- Live events for screens (kitchen, order board, kiosks). Ids are gap-free and never reused,
-- so a screen that reconnects with its last seen id gets exactly what it missed.
CREATE TABLE live_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,          -- kitchen | orders | menu
    station TEXT,                 -- for kitchen events: the station they concern
    type TEXT NOT NULL,           -- e.g. ticket.created, ticket.bumped, order.status, product.availability
    data TEXT NOT NULL,           -- JSON
    created_at TEXT NOT NULL
);
