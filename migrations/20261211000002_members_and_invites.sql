-- Roles are read now: only these three exist.
ALTER TABLE memberships
    ADD CONSTRAINT memberships_role CHECK (role IN ('admin', 'developer', 'viewer'));
CREATE INDEX memberships_org ON memberships (org_id);

-- Invitations: a one-time link (only its SHA-256 is kept) to join an organisation with a
-- role, until it expires or is used or revoked.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
    invited_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX invites_org ON invites (org_id);
