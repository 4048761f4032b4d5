-- Network receipt / kitchen printers are data (added over the API or synced), not settings.
CREATE TABLE printers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL DEFAULT 9100 CHECK (port BETWEEN 1 AND 65535),
    role TEXT NOT NULL CHECK (role IN ('receipt', 'kitchen')),
    station TEXT,                 -- kitchen printers: the station whose chits they print (NULL = all)
    enabled INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'unknown',  -- unknown | ok | error
    last_error TEXT NOT NULL DEFAULT '',
    last_ok_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Durable print queue: a job is rendered to ESC/POS bytes when queued and sent (and retried
-- with back-off) by the print worker until the printer takes it.
CREATE TABLE print_jobs (
    id TEXT PRIMARY KEY,
    printer_id TEXT NOT NULL REFERENCES printers (id),
    order_id TEXT,
    kind TEXT NOT NULL,           -- receipt | kitchen
    payload BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'printed', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    printed_at TEXT
);
CREATE INDEX print_jobs_due ON print_jobs (status, next_attempt_at);
CREATE INDEX print_jobs_printer ON print_jobs (printer_id, status);
