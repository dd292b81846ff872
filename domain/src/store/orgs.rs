//! Organisations (tenants) and their API keys.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Org {
    pub id: String,
    pub name: String,
}

/// What an API key authenticates as.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyOwner {
    pub key_id: String,
    pub org_id: String,
    pub prefix: String,
    pub app_id: Option<String>,
    pub read_only: bool,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    pub read_only: bool,
}

/// A key to store: only the hash of the key itself.
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a [u8],
    pub app_id: Option<&'a str>,
    pub read_only: bool,
}

/// Returns the organisation called `name`, creating it when missing (safe under concurrency).
pub async fn get_or_create_org(db: impl PgExecutor<'_>, new_id: &str, name: &str) -> sqlx::Result<Org> {
    sqlx::query_as(
        "WITH ins AS (
             INSERT INTO organizations (id, name) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING RETURNING id, name)
         SELECT id, name FROM ins
         UNION ALL SELECT id, name FROM organizations WHERE name = $2
         LIMIT 1",
    )
    .bind(new_id)
    .bind(name)
    .fetch_one(db)
    .await
}

pub async fn insert_org(db: impl PgExecutor<'_>, id: &str, name: &str) -> sqlx::Result<Org> {
    sqlx::query_as("INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name")
        .bind(id)
        .bind(name)
        .fetch_one(db)
        .await
}

pub async fn insert_api_key(db: impl PgExecutor<'_>, k: &NewApiKey<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, app_id, read_only)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(k.id)
    .bind(k.org_id)
    .bind(k.name)
    .bind(k.prefix)
    .bind(k.key_hash)
    .bind(k.app_id)
    .bind(k.read_only)
    .execute(db)
    .await?;
    Ok(())
}

/// The live (not revoked) key with this hash.
pub async fn find_key_owner(db: impl PgExecutor<'_>, key_hash: &[u8]) -> sqlx::Result<Option<KeyOwner>> {
    sqlx::query_as(
        "SELECT id AS key_id, org_id, prefix, app_id, read_only, last_used_at FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await
}

pub async fn touch_api_key(db: impl PgExecutor<'_>, key_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
        .bind(key_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn list_api_keys(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(
        "SELECT k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at, k.app_id,
                a.name AS app_name, k.read_only
         FROM api_keys k LEFT JOIN applications a ON a.id = k.app_id
         WHERE k.org_id = $1 ORDER BY k.created_at DESC",
    )
    .bind(org_id)
    .fetch_all(db)
    .await
}

/// Revokes a live key of this organisation; its prefix, or None when there is no such key.
pub async fn revoke_api_key(
    db: impl PgExecutor<'_>,
    org_id: &str,
    key_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL
         RETURNING prefix",
    )
    .bind(org_id)
    .bind(key_id)
    .fetch_optional(db)
    .await
}

// ------------------------------------------------------------------ consumer portal tokens

pub struct NewPortalToken<'a> {
    pub token_hash: &'a [u8],
    pub org_id: &'a str,
    pub app_id: &'a str,
    pub read_only: bool,
    pub feature_flags: &'a [String],
    pub session_id: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_portal_token(db: impl PgExecutor<'_>, t: &NewPortalToken<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO portal_tokens (token_hash, org_id, app_id, read_only, feature_flags, session_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.token_hash)
    .bind(t.org_id)
    .bind(t.app_id)
    .bind(t.read_only)
    .bind(t.feature_flags)
    .bind(t.session_id)
    .bind(t.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// (org_id, app_id, read_only, feature flags) of a live portal token.
pub async fn find_portal_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> sqlx::Result<Option<(String, String, bool, Vec<String>)>> {
    sqlx::query_as(
        "SELECT org_id, app_id, read_only, coalesce(feature_flags, '{}') FROM portal_tokens
         WHERE token_hash = $1 AND expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Makes the application's live portal tokens (only those of `session_ids`, when given)
/// expire at `at` at the latest. Returns how many were cut short.
pub async fn expire_portal_tokens(
    db: impl PgExecutor<'_>,
    org_id: &str,
    app_id: &str,
    session_ids: Option<&[String]>,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE portal_tokens SET expires_at = $4
         WHERE org_id = $1 AND app_id = $2 AND expires_at > $4
           AND ($3::text[] IS NULL OR session_id = ANY($3))",
    )
    .bind(org_id)
    .bind(app_id)
    .bind(session_ids)
    .bind(at)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

pub async fn delete_portal_token(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM portal_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}
