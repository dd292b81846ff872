//! Applications: a tenant's customer, the container of endpoints and messages.
use super::Page;
use crate::types::{ApplicationOut, ListResponse, Metadata};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppRow {
    pub id: String,
    pub uid: Option<String>,
    pub name: String,
    pub throttle_rate: Option<i32>,
    pub metadata: Json<Metadata>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The organisation's operational application (see [`operational`]).
    pub operational: bool,
}

impl From<AppRow> for ApplicationOut {
    fn from(r: AppRow) -> Self {
        Self {
            id: r.id,
            uid: r.uid,
            name: r.name,
            throttle_rate: r.throttle_rate.map(i64::from),
            rate_limit: r.throttle_rate.map(i64::from),
            metadata: r.metadata.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLS: &str = "id, uid, name, throttle_rate, metadata, created_at, updated_at, operational";

/// The fields an application is written with (create and full update).
#[derive(Debug, Clone)]
pub struct AppWrite<'a> {
    pub name: &'a str,
    pub uid: Option<&'a str>,
    pub throttle_rate: Option<i32>,
    pub metadata: &'a Metadata,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: &str,
    id: &str,
    w: &AppWrite<'_>,
) -> sqlx::Result<AppRow> {
    sqlx::query_as(&format!(
        "INSERT INTO applications (id, org_id, uid, name, throttle_rate, metadata)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLS}"
    ))
    .bind(id)
    .bind(org_id)
    .bind(w.uid)
    .bind(w.name)
    .bind(w.throttle_rate)
    .bind(Json(w.metadata))
    .fetch_one(db)
    .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: &str,
    id: &str,
    w: &AppWrite<'_>,
) -> sqlx::Result<Option<AppRow>> {
    sqlx::query_as(&format!(
        "UPDATE applications SET uid = $3, name = $4, throttle_rate = $5, metadata = $6, updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org_id)
    .bind(id)
    .bind(w.uid)
    .bind(w.name)
    .bind(w.throttle_rate)
    .bind(Json(w.metadata))
    .fetch_optional(db)
    .await
}

/// Finds an application by id or uid, within the organisation only.
/// (Not the organisation's operational application: see [`operational`].)
pub async fn get(db: impl PgExecutor<'_>, org_id: &str, id_or_uid: &str) -> sqlx::Result<Option<AppRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM applications WHERE org_id = $1 AND (id = $2 OR uid = $2) AND NOT operational
         ORDER BY (id = $2) DESC LIMIT 1"
    ))
    .bind(org_id)
    .bind(id_or_uid)
    .fetch_optional(db)
    .await
}

/// For ingest: the id of the application `id_or_uid`, if it exists (one indexed lookup, no
/// row data).
pub async fn ingest_target(
    db: impl PgExecutor<'_>,
    org_id: &str,
    id_or_uid: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM applications WHERE org_id = $1 AND (id = $2 OR uid = $2) AND NOT operational
         ORDER BY (id = $2) DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(id_or_uid)
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: &str, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM applications WHERE org_id = $1 AND id = $2 AND NOT operational")
        .bind(org_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Which applications a listing leaves out (Svix's `exclude_apps_with_*` parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppFilter {
    pub without_endpoints: bool,
    pub with_disabled_endpoints: bool,
}

pub async fn list(
    db: &sqlx::PgPool,
    org_id: &str,
    filter: AppFilter,
    page: &Page,
) -> sqlx::Result<ListResponse<ApplicationOut>> {
    let mut qb = sqlx::QueryBuilder::new(format!(
        "SELECT {COLS} FROM applications a WHERE NOT operational AND org_id = "
    ));
    qb.push_bind(org_id);
    if filter.without_endpoints {
        qb.push(" AND EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = a.id)");
    }
    if filter.with_disabled_endpoints {
        qb.push(" AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = a.id AND e.disabled)");
    }
    page.push_keyset(&mut qb, "id");
    let rows: Vec<AppRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(page.finish(
        rows.into_iter().map(Into::into).collect(),
        |a: &ApplicationOut| a.id.clone(),
    ))
}

/// The organisation's operational application (the home of its operational-webhook
/// endpoints), made on first use. Hidden from the application API and pages.
pub async fn operational(db: &sqlx::PgPool, org_id: &str, new_id: &str) -> sqlx::Result<AppRow> {
    sqlx::query(
        "INSERT INTO applications (id, org_id, name, operational)
         VALUES ($1, $2, 'Operational webhooks', true)
         ON CONFLICT (org_id) WHERE operational DO NOTHING",
    )
    .bind(new_id)
    .bind(org_id)
    .execute(db)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM applications WHERE org_id = $1 AND operational"
    ))
    .bind(org_id)
    .fetch_one(db)
    .await
}

/// The operational application of each organisation that has one, as `(org_id, app_id)`.
pub async fn operational_ids(
    db: impl PgExecutor<'_>,
    org_ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT org_id, id FROM applications WHERE operational AND org_id = ANY($1)")
        .bind(org_ids)
        .fetch_all(db)
        .await
}
