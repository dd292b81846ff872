-- Messages, deliveries and attempts are partitioned by the message's id, which sorts by
-- creation time (a KSUID): each partition holds one day of messages with their deliveries and
-- attempts, and retention drops whole partitions instead of deleting rows, so its cost does
-- not grow with the tables (issue 8). Hookline creates the coming days' partitions and drops
-- the expired ones itself (domain/src/store/partitions.rs).
--
-- Unique keys of a partitioned table must contain the partition key, so:
--  * deliveries and attempts are keyed by (id, message_id);
--  * the three tables no longer reference one another (a foreign key into a partitioned table
--    makes dropping one of its partitions check every referencing row); attempts reference
--    their endpoint instead, so deleting an endpoint or application still takes its history;
--  * an eventId's uniqueness per application lives in message_event_ids.
--
-- The ids are compared bytewise (COLLATE "C"): partition bounds and cursors are KSUIDs, whose
-- base62 digits sort by time only in byte order, whatever the database's own collation.
--
-- Existing rows are copied into one partition holding everything up to the newest message;
-- it is dropped as a whole once its newest message is past retention.

CREATE TABLE messages_v2 (
    id           TEXT COLLATE "C" NOT NULL,
    org_id       TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    event_id     TEXT,
    payload      TEXT,
    channels     TEXT[],
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    tags         TEXT[],
    deliver_at   TIMESTAMPTZ,
    content_type TEXT
) PARTITION BY RANGE (id);

CREATE TABLE deliveries_v2 (
    id                BIGINT NOT NULL DEFAULT nextval('deliveries_id_seq'),
    org_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    message_id        TEXT COLLATE "C" NOT NULL,
    endpoint_id       TEXT NOT NULL,
    status            SMALLINT NOT NULL DEFAULT 1,
    attempt_count     INTEGER NOT NULL DEFAULT 0,
    next_trigger      SMALLINT NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_until      TIMESTAMPTZ,
    last_attempt_at   TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    throttle_slot     BOOLEAN NOT NULL DEFAULT false
) PARTITION BY RANGE (message_id);

CREATE TABLE attempts_v2 (
    id                    TEXT COLLATE "C" NOT NULL,
    org_id                TEXT NOT NULL,
    app_id                TEXT NOT NULL,
    delivery_id           BIGINT NOT NULL,
    message_id            TEXT COLLATE "C" NOT NULL,
    endpoint_id           TEXT NOT NULL,
    url                   TEXT NOT NULL,
    status                SMALLINT NOT NULL,
    trigger_type          SMALLINT NOT NULL,
    response_status_code  INTEGER NOT NULL,
    response              TEXT,
    duration_ms           BIGINT NOT NULL,
    error_code            TEXT,
    request_headers       JSONB,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
) PARTITION BY RANGE (message_id);

-- The partition for the rows already there: up to just past the newest message id ('msg_'
-- when there is none: an empty range, dropped at the first sweep).
DO $$
DECLARE
    upper_bound TEXT := coalesce((SELECT max(id COLLATE "C") FROM messages) || '0', 'msg_');
BEGIN
    EXECUTE format('CREATE TABLE messages_p0 PARTITION OF messages_v2 FOR VALUES FROM (MINVALUE) TO (%L)', upper_bound);
    EXECUTE format('CREATE TABLE deliveries_p0 PARTITION OF deliveries_v2 FOR VALUES FROM (MINVALUE) TO (%L) WITH (fillfactor = 70)', upper_bound);
    EXECUTE format('CREATE TABLE attempts_p0 PARTITION OF attempts_v2 FOR VALUES FROM (MINVALUE) TO (%L)', upper_bound);
END $$;

INSERT INTO messages_v2 (id, org_id, app_id, event_type, event_id, payload, channels, created_at, expires_at,
                         tags, deliver_at, content_type)
SELECT id, org_id, app_id, event_type, event_id, payload, channels, created_at, expires_at,
       tags, deliver_at, content_type
FROM messages;

INSERT INTO deliveries_v2 (id, org_id, app_id, message_id, endpoint_id, status, attempt_count, next_trigger,
                           next_attempt_at, leased_until, last_attempt_at, created_at, updated_at, throttle_slot)
SELECT id, org_id, app_id, message_id, endpoint_id, status, attempt_count, next_trigger,
       next_attempt_at, leased_until, last_attempt_at, created_at, updated_at, throttle_slot
FROM deliveries;

INSERT INTO attempts_v2 (id, org_id, app_id, delivery_id, message_id, endpoint_id, url, status, trigger_type,
                         response_status_code, response, duration_ms, error_code, request_headers, created_at)
SELECT id, org_id, app_id, delivery_id, message_id, endpoint_id, url, status, trigger_type,
       response_status_code, response, duration_ms, error_code, request_headers, created_at
FROM attempts;

CREATE TABLE message_event_ids (
    app_id      TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    message_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, event_id)
);
-- retention removes the event ids of the messages it is about to drop, by message id
CREATE INDEX message_event_ids_message_idx ON message_event_ids (message_id);
INSERT INTO message_event_ids (app_id, event_id, message_id)
SELECT app_id, event_id, id FROM messages WHERE event_id IS NOT NULL;

ALTER SEQUENCE deliveries_id_seq OWNED BY NONE;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
ALTER TABLE attempts_v2 RENAME TO attempts;
ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;

ALTER TABLE messages ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (app_id) REFERENCES applications (id) ON DELETE CASCADE;
CREATE INDEX messages_app_id ON messages (app_id, id);
CREATE INDEX messages_app_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX messages_expiring ON messages (expires_at) WHERE payload IS NOT NULL;
CREATE INDEX messages_tags_idx ON messages USING gin (tags) WHERE tags IS NOT NULL;

ALTER TABLE deliveries ADD PRIMARY KEY (id, message_id),
    ADD UNIQUE (message_id, endpoint_id),
    ADD FOREIGN KEY (endpoint_id) REFERENCES endpoints (id) ON DELETE CASCADE;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 1;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, message_id);

ALTER TABLE attempts ADD PRIMARY KEY (id, message_id),
    ADD FOREIGN KEY (endpoint_id) REFERENCES endpoints (id) ON DELETE CASCADE;
CREATE INDEX attempts_message ON attempts (message_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- autovacuum never analyzes a partitioned parent: give the planner the copied rows' statistics
ANALYZE messages, deliveries, attempts, message_event_ids;
