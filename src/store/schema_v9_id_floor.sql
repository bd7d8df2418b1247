-- Incident numbering floor (version 9). A state store started over an earlier
-- deployment's traces (`--new-state`) numbers its incidents above every number that
-- deployment left in Slack and GitHub, so "incident #3" never names two incidents.
CREATE TABLE incident_id_floor (
    floor BIGINT NOT NULL
);
