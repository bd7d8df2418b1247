-- Silences: a monitor's notifications held back until `until` (its runs and incidents go on).
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    monitor_id TEXT    NOT NULL,
    until      BIGINT  NOT NULL,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    lifted_at  BIGINT
);
CREATE INDEX silences_by_monitor ON silences (monitor_id, until);
