-- The outbox journal: every state change appends one event, in the same transaction.
CREATE TABLE journal_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL,          -- current epoch: new for every database created or restored
    epoch_base_seq INTEGER NOT NULL DEFAULT 1, -- first seq of the current epoch
    seq INTEGER NOT NULL,         -- last sequence number handed out
    hash TEXT NOT NULL,           -- hash of that event (the genesis hash when seq = 0)
    acked_seq INTEGER NOT NULL DEFAULT 0,  -- highest seq the hub confirmed it holds
    pruned_seq INTEGER NOT NULL DEFAULT 0, -- events up to here were deleted after ack
    pruned_hash TEXT NOT NULL DEFAULT ''   -- hash of event pruned_seq: the chain's anchor
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,      -- gap-free across epochs: a restore never reuses a number
    epoch TEXT NOT NULL,          -- epoch the event was written in; its chain starts at genesis(epoch)
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    body BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    acked_at TEXT
);
