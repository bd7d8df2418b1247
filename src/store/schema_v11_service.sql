-- The serve loop's last cycle (one row): after a restart, the gap since it is downtime.
CREATE TABLE service_beats (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);

-- Operations notices (Ripple was down, catching up), stored before they are sent.
CREATE TABLE ops_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    sent_ms INTEGER
);
