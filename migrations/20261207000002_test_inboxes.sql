-- Test inboxes: URLs served by Hookline itself that record what is sent to them, so a new
-- user can watch a delivery arrive (and retries, and the breaker, by telling the inbox how to
-- answer) without a server of their own. Deliveries to an inbox of this instance are routed
-- inside Hookline, never through a connection.
CREATE TABLE inboxes (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- the secret part of the inbox's URL
    token           TEXT NOT NULL UNIQUE,
    -- what the inbox answers with, and after how long
    reply_status    SMALLINT NOT NULL DEFAULT 200,
    reply_delay_ms  INT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX inboxes_org ON inboxes (org_id, id);
CREATE INDEX inboxes_expires ON inboxes (expires_at);

CREATE TABLE inbox_requests (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox_id        TEXT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    method          TEXT NOT NULL,
    headers         JSONB NOT NULL,
    body            TEXT NOT NULL,
    body_truncated  BOOLEAN NOT NULL DEFAULT false,
    -- the status the inbox answered with
    answered        SMALLINT NOT NULL,
    -- set when Hookline delivered it (routed inside, not over the network)
    endpoint_id     TEXT
);
CREATE INDEX inbox_requests_inbox ON inbox_requests (inbox_id, id);

-- When the delivery's current send started (with leased_until), so that the portal can say
-- "sending now, started 3 s ago" rather than guess from a lease length it may not share.
ALTER TABLE deliveries ADD COLUMN leased_at TIMESTAMPTZ;

-- The dead letters of each endpoint, counted for the organisation's overview without reading
-- the endpoint's whole history (only failed rows are in it).
CREATE INDEX deliveries_failed ON deliveries (endpoint_id) WHERE status = 2;
