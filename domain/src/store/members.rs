//! Members of organisations (`memberships`, with their role) and invitations to join.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

pub async fn list(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as(
        "SELECT m.user_id, u.email, m.role, m.created_at AS joined_at
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 ORDER BY m.created_at, u.email",
    )
    .bind(org_id)
    .fetch_all(db)
    .await
}

/// Every member's (user id, role), locked until the transaction ends: a change of roles or
/// members checks the admins that remain against this, so two at once cannot both remove
/// the last two admins.
pub async fn lock_roles(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT user_id, role FROM memberships WHERE org_id = $1 ORDER BY user_id FOR UPDATE")
        .bind(org_id)
        .fetch_all(db)
        .await
}

pub async fn set_role(
    db: impl PgExecutor<'_>,
    org_id: &str,
    user_id: &str,
    role: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn remove(db: impl PgExecutor<'_>, org_id: &str, user_id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Adds the user to the organisation; false when they already belong to it.
pub async fn add(db: impl PgExecutor<'_>, user_id: &str, org_id: &str, role: &str) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(org_id)
    .bind(role)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The organisations the user belongs to: (id, name, role), the oldest membership first.
pub async fn orgs_of(db: impl PgExecutor<'_>, user_id: &str) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as(
        "SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.user_id = $1 ORDER BY m.created_at, o.name",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

// ------------------------------------------------------------------ invitations

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub token_hash: &'a [u8],
    pub role: &'a str,
    pub invited_by: &'a str,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const INVITE_COLS: &str =
    "i.id, i.org_id, o.name AS org_name, i.role, i.invited_by, i.created_at, i.expires_at
    FROM invites i JOIN organizations o ON o.id = i.org_id";

pub async fn insert_invite(db: impl PgExecutor<'_>, i: &NewInvite<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invites (id, org_id, token_hash, role, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(i.id)
    .bind(i.org_id)
    .bind(i.token_hash)
    .bind(i.role)
    .bind(i.invited_by)
    .bind(i.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The organisation's invitations still open (not used, not expired), newest first.
pub async fn open_invites(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<Vec<InviteRow>> {
    sqlx::query_as(&format!(
        "SELECT {INVITE_COLS} WHERE i.org_id = $1 AND i.used_at IS NULL AND i.expires_at > now()
         ORDER BY i.created_at DESC"
    ))
    .bind(org_id)
    .fetch_all(db)
    .await
}

/// The open invitation with this token's hash.
pub async fn find_invite(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<InviteRow>> {
    sqlx::query_as(&format!(
        "SELECT {INVITE_COLS} WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > now()"
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Uses up the open invitation with this token's hash: of two requests with one link, one
/// gets it.
pub async fn take_invite(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<InviteRow>> {
    sqlx::query_as(&format!(
        "WITH used AS (
             UPDATE invites SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING *)
         SELECT {} ",
        INVITE_COLS.replace("FROM invites i", "FROM used i")
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Deletes an open invitation of the organisation; false when there is none.
pub async fn revoke_invite(db: impl PgExecutor<'_>, org_id: &str, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM invites WHERE org_id = $1 AND id = $2 AND used_at IS NULL")
        .bind(org_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Withdraws the open invitations someone made (by their actor name, an email): they no
/// longer may invite once they are no admin here.
pub async fn withdraw_invites_by(
    db: impl PgExecutor<'_>,
    org_id: &str,
    invited_by: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM invites WHERE org_id = $1 AND invited_by = $2 AND used_at IS NULL")
        .bind(org_id)
        .bind(invited_by)
        .execute(db)
        .await?;
    Ok(r.rows_affected())
}

/// Deletes the user when they belong to no organisation any more (their sessions and reset
/// links go with them).
pub async fn delete_user_without_orgs(db: impl PgExecutor<'_>, user_id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Drops invitations that expired or were used more than `days` ago.
pub async fn purge_invites(db: impl PgExecutor<'_>, days: i32) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "DELETE FROM invites WHERE coalesce(used_at, expires_at) < now() - make_interval(days => $1)",
    )
    .bind(days)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
