-- Signed requests already acted on (version 10). A Slack request's signature covers its
-- timestamp and body, so (timestamp, signature) names one request; it is stored before
-- the request is acted on, and a second arrival within the signature window finds it.
-- Rows older than the window are pruned (the signature check refuses those anyway).
CREATE TABLE seen_requests (
    ts        BIGINT NOT NULL,
    signature TEXT   NOT NULL,
    seen_at   BIGINT NOT NULL,
    PRIMARY KEY (ts, signature)
);
