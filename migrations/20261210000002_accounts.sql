-- Accounts (issue 12, item 5): a user's portal sessions, to list them and end the others, and
-- one-time password-reset links made by an operator.

-- One row per logged-in portal session, keyed like the session store's own row (the digest
-- of the session id, never the id itself: see server/src/sessions.rs). The session store's
-- table is made by the store at start-up, so this one does not reference it; a row whose
-- session has ended is left out of lists and purged with expired sessions.
CREATE TABLE user_sessions (
    session_key   TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent    TEXT,
    ip            TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- A reset link's token is stored as its SHA-256 digest; it works once, within its hour.
CREATE TABLE password_resets (
    token_hash  BYTEA PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);
