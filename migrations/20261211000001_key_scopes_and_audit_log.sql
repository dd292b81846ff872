-- Scoped API keys: a key may reach one application only (it dies with it), and may be
-- read-only.
ALTER TABLE api_keys
    ADD COLUMN app_id TEXT REFERENCES applications (id) ON DELETE CASCADE,
    ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX api_keys_app ON api_keys (app_id) WHERE app_id IS NOT NULL;

-- The audit log: who changed what, written in the same transaction as the change. The
-- application id has no foreign key: the record outlives what it records.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    app_id      TEXT,
    details     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- a key's scope is part of what processes keep in memory for it
DROP TRIGGER api_keys_lookups ON api_keys;
CREATE TRIGGER api_keys_lookups
    AFTER UPDATE OF key_hash, org_id, revoked_at, app_id, read_only OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_lookups_changed('keys');
