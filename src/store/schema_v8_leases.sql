-- Delivery leases (version 8). Before it delivers anything for an (incident,
-- destination), a delivery round takes this row's lease; a second round, in this process
-- or another on the same database, finds it held and leaves the pair alone. `token`
-- only ever grows (a released lease keeps its row with `expires_at = 0`), so it fences:
-- a delivery whose lease expired and was taken over cannot record its outcome over the
-- newer holder's.
CREATE TABLE outbox_leases (
    incident_id BIGINT NOT NULL,
    destination TEXT   NOT NULL,
    token       BIGINT NOT NULL,
    holder      TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (incident_id, destination)
);
