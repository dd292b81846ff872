//! Portal users, their organisation membership, and failed-login records for throttling.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// A user with the organisation they belong to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub org_id: String,
    pub org_name: String,
    pub role: String,
}

pub async fn insert_user(
    db: impl PgExecutor<'_>,
    id: &str,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn insert_membership(
    db: impl PgExecutor<'_>,
    user_id: &str,
    org_id: &str,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(org_id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(())
}

const USER_COLS: &str = "u.id, u.email, u.password_hash, o.id AS org_id, o.name AS org_name, m.role \
    FROM users u JOIN memberships m ON m.user_id = u.id JOIN organizations o ON o.id = m.org_id";

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} WHERE lower(u.email) = lower($1) ORDER BY m.created_at LIMIT 1"
    ))
    .bind(email)
    .fetch_optional(db)
    .await
}

/// The user as a member of `org` when they belong to it, else of their oldest organisation.
pub async fn find_by_id(
    db: impl PgExecutor<'_>,
    id: &str,
    org: Option<&str>,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} WHERE u.id = $1 ORDER BY m.org_id = $2 DESC NULLS LAST, m.created_at LIMIT 1"
    ))
    .bind(id)
    .bind(org)
    .fetch_optional(db)
    .await
}

pub async fn email_taken(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))")
        .bind(email)
        .fetch_one(db)
        .await
}

pub async fn org_name_taken(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE name = $1)")
        .bind(name)
        .fetch_one(db)
        .await
}

pub async fn record_login_failure(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_failures (email) VALUES (lower($1))")
        .bind(email)
        .execute(db)
        .await?;
    Ok(())
}

/// Failures for `email` since `since`, and the oldest of them.
pub async fn recent_login_failures(
    db: impl PgExecutor<'_>,
    email: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "SELECT count(*), min(failed_at) FROM login_failures WHERE lower(email) = lower($1) AND failed_at > $2",
    )
    .bind(email)
    .bind(since)
    .fetch_one(db)
    .await
}

pub async fn clear_login_failures(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(db)
        .await?;
    Ok(())
}
