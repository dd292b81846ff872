//! A user's portal sessions (beside the session store's own table, `tower_sessions.session`,
//! whose rows are keyed alike) and password-reset tokens.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// The session store's table (made by tower-sessions at start-up).
const STORE_TABLE: &str = "tower_sessions.session";

/// One live session of a user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub session_key: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Notes that session `key` belongs to `user_id` (at login, and again on each save: keeps the
/// first sighting's time, browser and address).
pub async fn record(
    db: impl PgExecutor<'_>,
    key: &str,
    user_id: &str,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO user_sessions (session_key, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)
         ON CONFLICT (session_key) DO UPDATE SET last_seen_at = now()
         WHERE user_sessions.user_id = EXCLUDED.user_id",
    )
    .bind(key)
    .bind(user_id)
    .bind(user_agent)
    .bind(ip)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks session `key` as seen now, at most once a minute (a write per page view otherwise).
pub async fn touch(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE user_sessions SET last_seen_at = now()
         WHERE session_key = $1 AND last_seen_at < now() - interval '1 minute'",
    )
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets session `key` (it ended: logout, or the store deleted it).
pub async fn forget(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM user_sessions WHERE session_key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// The user's sessions still alive in the store, most recently seen first.
pub async fn list(db: impl PgExecutor<'_>, user_id: &str) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as(&format!(
        "SELECT u.session_key, u.user_agent, u.ip, u.created_at, u.last_seen_at, s.expiry_date AS expires_at
         FROM user_sessions u JOIN {STORE_TABLE} s ON s.id = u.session_key
         WHERE u.user_id = $1 AND s.expiry_date > now()
         ORDER BY u.last_seen_at DESC, u.created_at DESC
         LIMIT 100"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Ends every session of the user but `keep` (none kept when `None`): their cookies no longer
/// log anyone in. Returns how many ended.
pub async fn end_all_but(db: impl PgExecutor<'_>, user_id: &str, keep: Option<&str>) -> sqlx::Result<u64> {
    let r = sqlx::query(&format!(
        "WITH gone AS (
             DELETE FROM user_sessions
             WHERE user_id = $1 AND session_key IS DISTINCT FROM $2
             RETURNING session_key)
         DELETE FROM {STORE_TABLE} s USING gone WHERE s.id = gone.session_key"
    ))
    .bind(user_id)
    .bind(keep)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Deletes the rows of sessions the store no longer has (expired and purged), up to `limit`.
pub async fn purge_ended(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<u64> {
    let r = sqlx::query(&format!(
        "DELETE FROM user_sessions WHERE session_key IN (
             SELECT u.session_key FROM user_sessions u
             WHERE NOT EXISTS (SELECT 1 FROM {STORE_TABLE} s WHERE s.id = u.session_key)
             LIMIT $1)"
    ))
    .bind(limit)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Sets a user's password hash.
pub async fn set_password_hash(db: impl PgExecutor<'_>, user_id: &str, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a reset token's digest for `user_id`, valid until `expires_at`; earlier unused
/// tokens of the user stop working (the newest link is the one that counts).
pub async fn insert_reset(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    user_id: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH old AS (
             UPDATE password_resets SET expires_at = least(expires_at, now())
             WHERE user_id = $2 AND used_at IS NULL)
         INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The user a valid, unused reset token belongs to, without using it up.
pub async fn reset_user(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT user_id FROM password_resets
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Uses up a valid reset token and returns its user: of two requests with one token, only
/// one gets it.
pub async fn take_reset(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Deletes reset tokens a day past their expiry, up to `limit`.
pub async fn purge_resets(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "DELETE FROM password_resets WHERE token_hash IN (
             SELECT token_hash FROM password_resets WHERE expires_at < now() - interval '1 day' LIMIT $1)",
    )
    .bind(limit)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
