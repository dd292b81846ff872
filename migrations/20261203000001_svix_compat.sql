-- Fields Svix acts on that Hookline now acts on too (issue 7).

-- Message tags (the `tag` list filter) and scheduled delivery (`deliverAt`).
ALTER TABLE messages ADD COLUMN tags TEXT[], ADD COLUMN deliver_at TIMESTAMPTZ;
CREATE INDEX messages_tags_idx ON messages USING gin (tags) WHERE tags IS NOT NULL;

-- Event-type groups in the catalogue.
ALTER TABLE event_types ADD COLUMN group_name TEXT;

-- App-portal tokens: the feature flags they may see, and the session they belong to
-- (for `auth/app/{app_id}/expire-all`).
ALTER TABLE portal_tokens ADD COLUMN feature_flags TEXT[], ADD COLUMN session_id TEXT;
CREATE INDEX portal_tokens_app_idx ON portal_tokens (app_id);

-- The application's throttle (`throttleRate`): the theoretical arrival time of its next send,
-- shared by every worker, as endpoints.throttle_tat is for one endpoint.
ALTER TABLE applications ADD COLUMN throttle_tat TIMESTAMPTZ;

-- Background tasks (recover, replay-missing): stored with their real status and result.
CREATE TABLE background_tasks (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    app_id      TEXT REFERENCES applications (id) ON DELETE SET NULL,
    endpoint_id TEXT,
    task        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    data        JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX background_tasks_org_idx ON background_tasks (org_id, id);
