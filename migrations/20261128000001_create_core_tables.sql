-- Tenancy, credentials and the delivery queue. Every tenant-owned row carries org_id so that
-- every query can be scoped by organisation.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role        TEXT NOT NULL DEFAULT 'admin',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, org_id)
);

-- Only a SHA-256 of the secret is kept; `prefix` is what the portal shows.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      BYTEA NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    uid            TEXT,
    name           TEXT NOT NULL,
    throttle_rate  INTEGER,
    metadata       JSONB NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX applications_org_uid ON applications (org_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX applications_org_id ON applications (org_id, id);

CREATE TABLE event_types (
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    schemas       JSONB,
    archived      BOOLEAN NOT NULL DEFAULT false,
    deprecated    BOOLEAN NOT NULL DEFAULT false,
    feature_flag  TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, name)
);

CREATE TABLE endpoints (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    app_id                TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    uid                   TEXT,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    version               INTEGER NOT NULL DEFAULT 1,
    event_types           TEXT[],
    channels              TEXT[],
    throttle_rate         INTEGER,
    disabled              BOOLEAN NOT NULL DEFAULT false,
    disabled_reason       TEXT,
    headers               JSONB NOT NULL DEFAULT '{}',
    metadata              JSONB NOT NULL DEFAULT '{}',
    -- health: consecutive failed attempts, since when it has been failing, breaker state
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    failing_since         TIMESTAMPTZ,
    circuit_open_until    TIMESTAMPTZ,
    circuit_trips         INTEGER NOT NULL DEFAULT 0,
    -- throttle: theoretical arrival time of the next permitted send (GCRA)
    throttle_tat          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX endpoints_app_uid ON endpoints (app_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX endpoints_app_id ON endpoints (app_id, id);

-- Secrets are stored encrypted (nonce || ciphertext). The current secret has expires_at NULL;
-- after a rotation the previous one keeps signing until expires_at.
CREATE TABLE endpoint_secrets (
    id           BIGSERIAL PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    ciphertext   BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    app_id       TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    event_id     TEXT,
    -- the payload exactly as the client sent it (NULL once expunged)
    payload      TEXT,
    channels     TEXT[],
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX messages_app_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX messages_app_id ON messages (app_id, id);

-- Replays of POSTs carrying an Idempotency-Key. A row with completed_at NULL is a request in
-- flight; locked_until lets a crashed request's key be taken over.
CREATE TABLE idempotency_keys (
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    request_hash  BYTEA NOT NULL,
    status_code   INTEGER,
    response      BYTEA,
    locked_until  TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);

-- The queue: one row per message x endpoint. status: 0 success, 1 pending, 2 failed (the dead
-- letter). A pending row is due when next_attempt_at <= now() and it has no live lease;
-- claiming sets leased_until only (unindexed, so HOT-updatable: hence the fillfactor), and a
-- worker that dies simply lets its leases run out.
CREATE TABLE deliveries (
    id                BIGSERIAL PRIMARY KEY,
    org_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    message_id        TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    endpoint_id       TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    status            SMALLINT NOT NULL DEFAULT 1,
    attempt_count     INTEGER NOT NULL DEFAULT 0,
    next_trigger      SMALLINT NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_until      TIMESTAMPTZ,
    last_attempt_at   TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (message_id, endpoint_id)
) WITH (fillfactor = 70);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 1;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, message_id);

-- Append-only log of every attempt.
CREATE TABLE attempts (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL,
    app_id                TEXT NOT NULL,
    delivery_id           BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    message_id            TEXT NOT NULL,
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
);
CREATE INDEX attempts_message ON attempts (message_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

-- Consumer-portal access tokens (hashed), each scoped to one application, and expiring.
CREATE TABLE portal_tokens (
    token_hash  BYTEA PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    read_only   BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
);
