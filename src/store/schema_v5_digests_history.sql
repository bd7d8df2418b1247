-- Digests and per-monitor history, version 5. Portable between SQLite and PostgreSQL.
-- Digests: one row per digest (when Ripple first knew it, its latest message), and
-- one row per slot claimed. A slot is claimed before it is sent, so a restart never
-- sends a slot twice (a crash mid-send loses that slot; the next one covers it).
CREATE TABLE digest_state (
    name           TEXT    PRIMARY KEY,
    known_since    BIGINT  NOT NULL,
    last_slot_at   BIGINT,
    last_handle    TEXT,
    last_all_clear INTEGER NOT NULL DEFAULT 0,
    updated_at     BIGINT  NOT NULL
);
CREATE TABLE digest_sends (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    slot_at   BIGINT,
    sent_at   BIGINT  NOT NULL,
    handle    TEXT,
    -- post | edit
    action    TEXT    NOT NULL,
    all_clear INTEGER NOT NULL,
    UNIQUE (name, slot_at)
);

-- Measurements a check compares with its own history (null_ratio).
CREATE TABLE check_history (
    id         INTEGER PRIMARY KEY,
    monitor_id TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    value      DOUBLE PRECISION NOT NULL
);
CREATE INDEX check_history_by_monitor ON check_history (monitor_id, at);
