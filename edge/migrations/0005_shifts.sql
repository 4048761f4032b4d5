-- Cashier shifts and the cash drawer. One open shift per cashier device (partial unique
-- index); a closed shift keeps its Z report as written at close, never recomputed.
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    outlet_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    opening_float INTEGER NOT NULL CHECK (opening_float >= 0),
    closed_by TEXT,
    closed_at TEXT,
    counted_cash INTEGER,
    expected_cash INTEGER,
    difference INTEGER,
    z_report TEXT             -- JSON ShiftReport frozen at close
);
CREATE UNIQUE INDEX shifts_one_open_per_device ON shifts (device_id) WHERE closed_at IS NULL;
CREATE INDEX shifts_opened ON shifts (opened_at);

CREATE TABLE cash_movements (
    id TEXT PRIMARY KEY,
    shift_id TEXT NOT NULL REFERENCES shifts (id),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    reason TEXT NOT NULL,
    staff_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX cash_movements_shift ON cash_movements (shift_id, created_at);

-- A closed shift's numbers are final.
CREATE TRIGGER shifts_closed_are_immutable BEFORE UPDATE ON shifts
WHEN OLD.closed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a closed shift cannot change');
END;
