-- Ripple state, version 1. Portable between SQLite and PostgreSQL.
CREATE TABLE monitor_runs (
    id            INTEGER PRIMARY KEY,
    monitor_id    TEXT    NOT NULL,
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT  NOT NULL,
    outcome       TEXT    NOT NULL,
    rows_returned BIGINT,
    detail        TEXT    NOT NULL
);
CREATE INDEX monitor_runs_by_monitor ON monitor_runs (monitor_id, finished_at);

CREATE TABLE monitor_state (
    monitor_id           TEXT    PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL,
    last_outcome         TEXT    NOT NULL,
    last_completed_at    BIGINT,
    first_seen_at        BIGINT  NOT NULL
);

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    fingerprint      TEXT    NOT NULL,
    monitor_id       TEXT    NOT NULL,
    team             TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    condition        TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    failures         INTEGER NOT NULL,
    opened_at        BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    resolved_at      BIGINT,
    last_notified_at BIGINT  NOT NULL
);
-- One open incident per fingerprint, whatever races or restarts happen.
CREATE UNIQUE INDEX incidents_one_open ON incidents (fingerprint) WHERE status = 'open';

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

-- Notifications to deliver, one row per (event, destination): the unique key is the
-- dedup guarantee, delivered_at the idempotence record.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    event_id        INTEGER NOT NULL REFERENCES incident_events (id),
    destination     TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    UNIQUE (event_id, destination)
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);
