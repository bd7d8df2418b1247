-- Impact: usage statistics cache (refreshed on an interval) and incident links.
CREATE TABLE usage_stats (
    table_name TEXT PRIMARY KEY,
    stats      TEXT NOT NULL
);
CREATE TABLE usage_refresh (
    id           INTEGER PRIMARY KEY,
    refreshed_at BIGINT  NOT NULL,
    tables       BIGINT  NOT NULL
);

-- Monitors that joined an upstream incident as "also affected" (lineage inhibition).
CREATE TABLE incident_links (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    monitor_id  TEXT    NOT NULL,
    joined_at   BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, monitor_id)
);
