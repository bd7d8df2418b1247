-- One intent journal for every destination (version 7). A row is written before a call
-- that creates something remote (a Slack reply, a GitHub comment); `started` is an
-- intent to reconcile (look the thing up by its marker before creating it again),
-- `done` the record that it exists. Replaces slack_messages and github_comments.
CREATE TABLE intents (
    scope       TEXT    NOT NULL,
    event_key   TEXT    NOT NULL,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    state       TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (scope, event_key)
);
INSERT INTO intents (scope, event_key, incident_id, state, at)
    SELECT 'slack', event_key, incident_id, state, at FROM slack_messages;
INSERT INTO intents (scope, event_key, incident_id, state, at)
    SELECT 'github', event_key, incident_id, state, at FROM github_comments;
DROP TABLE slack_messages;
DROP TABLE github_comments;
