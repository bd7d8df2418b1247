-- Slack: where each incident's messages live, and the posts made for it. Every create
-- (channel, root message, thread reply) is preceded by its intent here, so a crash or a
-- lost response is reconciled (found by name, metadata or marker) instead of repeated.
CREATE TABLE slack_incidents (
    incident_id    INTEGER PRIMARY KEY REFERENCES incidents (id),
    fingerprint    TEXT    NOT NULL,
    -- 1 when the incident has (or is getting) its own channel.
    escalated      INTEGER NOT NULL DEFAULT 0,
    -- none | creating | created | ready
    channel_state  TEXT    NOT NULL,
    channel_name   TEXT,
    -- A worker creating the channel: who, and since when (a lease; stale after minutes).
    claim_by       TEXT,
    claim_at       BIGINT,
    -- Where the root message lives, and its ts.
    channel_id     TEXT,
    root_ts        TEXT,
    -- none | posting | posted | resolved
    root_state     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE slack_messages (
    event_key   TEXT    PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    -- started | done
    state       TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);

-- Acknowledgement (by hand, from Slack or the CLI): reminders stop while acknowledged.
ALTER TABLE incidents ADD COLUMN acked_by TEXT;
ALTER TABLE incidents ADD COLUMN acked_at BIGINT;
