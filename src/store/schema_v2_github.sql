-- GitHub issues, version 2. Portable between SQLite and PostgreSQL.
-- One row per incident that has (or is getting) an issue. A row with a NULL
-- issue_number is a persisted intent to create: after a crash it is reconciled by
-- finding the issue through its hidden marker before anything is created again.
-- Several incidents of one fingerprint may share an issue (a relapse reopens it).
CREATE TABLE github_issues (
    incident_id  BIGINT  PRIMARY KEY REFERENCES incidents (id),
    fingerprint  TEXT    NOT NULL,
    repo         TEXT    NOT NULL,
    issue_number BIGINT,
    -- creating | linking | open | resolved (recovered, left open) | closed
    state        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    closed_at    BIGINT
);
CREATE INDEX github_issues_by_fingerprint ON github_issues (fingerprint, repo, incident_id);

-- Comments posted (or being posted) per event; `started` is an intent reconciled by
-- looking for the comment's hidden marker before posting again.
CREATE TABLE github_comments (
    event_key    TEXT    PRIMARY KEY,
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
    issue_number BIGINT  NOT NULL,
    state        TEXT    NOT NULL,
    at           BIGINT  NOT NULL
);
