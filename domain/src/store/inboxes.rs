//! Test inboxes and what they received (see the migration `test_inboxes`).
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgExecutor;

/// The requests an inbox keeps: older ones go as new ones arrive.
pub const KEPT_REQUESTS: i64 = 100;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub id: String,
    pub org_id: String,
    pub token: String,
    pub reply_status: i16,
    pub reply_delay_ms: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub headers: Json<Value>,
    pub body: String,
    pub body_truncated: bool,
    pub answered: i16,
    pub endpoint_id: Option<String>,
}

const COLS: &str = "id, org_id, token, reply_status, reply_delay_ms, created_at, expires_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    id: &str,
    org_id: &str,
    token: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<InboxRow> {
    sqlx::query_as(&format!(
        "INSERT INTO inboxes (id, org_id, token, expires_at) VALUES ($1, $2, $3, $4) RETURNING {COLS}"
    ))
    .bind(id)
    .bind(org_id)
    .bind(token)
    .bind(expires_at)
    .fetch_one(db)
    .await
}

/// The organisation's inbox, unless it has expired.
pub async fn get(db: impl PgExecutor<'_>, org_id: &str, id: &str) -> sqlx::Result<Option<InboxRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM inboxes WHERE org_id = $1 AND id = $2 AND expires_at > now()"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The organisation's inboxes that have not expired, newest first.
pub async fn list(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<Vec<InboxRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM inboxes WHERE org_id = $1 AND expires_at > now() ORDER BY id DESC"
    ))
    .bind(org_id)
    .fetch_all(db)
    .await
}

/// Sets what the inbox answers with; `None` when it is not the organisation's.
pub async fn set_reply(
    db: impl PgExecutor<'_>,
    org_id: &str,
    id: &str,
    status: i16,
    delay_ms: i32,
) -> sqlx::Result<Option<InboxRow>> {
    sqlx::query_as(&format!(
        "UPDATE inboxes SET reply_status = $3, reply_delay_ms = $4
         WHERE org_id = $1 AND id = $2 AND expires_at > now() RETURNING {COLS}"
    ))
    .bind(org_id)
    .bind(id)
    .bind(status)
    .bind(delay_ms)
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: &str, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM inboxes WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// A request that arrived at an inbox.
pub struct Arrival<'a> {
    pub method: &'a str,
    pub headers: &'a Value,
    pub body: &'a str,
    pub body_truncated: bool,
    /// The endpoint whose delivery this is, when Hookline routed it inside.
    pub endpoint_id: Option<&'a str>,
}

/// Records a request at the inbox whose URL carries `token` and keeps only the newest
/// [`KEPT_REQUESTS`]; returns what the inbox answers with (status, delay in ms), or `None`
/// when there is no such inbox (or it has expired). One statement.
pub async fn receive(
    db: impl PgExecutor<'_>,
    token: &str,
    a: &Arrival<'_>,
) -> sqlx::Result<Option<(i16, i32)>> {
    sqlx::query_as(
        "WITH inbox AS (
             SELECT id, reply_status, reply_delay_ms FROM inboxes WHERE token = $1 AND expires_at > now()),
         stored AS (
             INSERT INTO inbox_requests (inbox_id, method, headers, body, body_truncated, answered, endpoint_id)
             SELECT id, $2, $3, $4, $5, reply_status, $6 FROM inbox
             RETURNING inbox_id),
         pruned AS (
             DELETE FROM inbox_requests r USING inbox
             WHERE r.inbox_id = inbox.id AND r.id <= (
                 SELECT id FROM inbox_requests WHERE inbox_id = inbox.id
                 ORDER BY id DESC OFFSET $7 - 1 LIMIT 1))
         SELECT reply_status, reply_delay_ms FROM inbox",
    )
    .bind(token)
    .bind(a.method)
    .bind(Json(a.headers))
    .bind(a.body)
    .bind(a.body_truncated)
    .bind(a.endpoint_id)
    .bind(KEPT_REQUESTS)
    .fetch_optional(db)
    .await
}

/// The inbox's requests after `after` (an id; 0 for all), newest first.
pub async fn requests(db: impl PgExecutor<'_>, inbox_id: &str, after: i64) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as(
        "SELECT id, received_at, method, headers, body, body_truncated, answered, endpoint_id
         FROM inbox_requests WHERE inbox_id = $1 AND id > $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(inbox_id)
    .bind(after)
    .bind(KEPT_REQUESTS)
    .fetch_all(db)
    .await
}

/// The organisation's endpoints that deliver to `url` (an inbox's).
pub async fn endpoints_at(
    db: impl PgExecutor<'_>,
    org_id: &str,
    url: &str,
) -> sqlx::Result<Vec<super::endpoints::EndpointRow>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM endpoints WHERE org_id = $1 AND url = $2 ORDER BY id",
        super::endpoints::COLS
    ))
    .bind(org_id)
    .bind(url)
    .fetch_all(db)
    .await
}

/// How many inboxes the organisation has that have not expired.
pub async fn count_live(db: impl PgExecutor<'_>, org_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM inboxes WHERE org_id = $1 AND expires_at > now()")
        .bind(org_id)
        .fetch_one(db)
        .await
}
