-- Usage statistics cache (impact ranking), refreshed on an interval.
CREATE TABLE usage_stats (
    table_name TEXT PRIMARY KEY,
    stats      TEXT NOT NULL
);
CREATE TABLE usage_refresh (
    id           INTEGER PRIMARY KEY,
    refreshed_at BIGINT  NOT NULL,
    tables       BIGINT  NOT NULL
);
