//! The event-type catalogue of an organisation.
use super::Page;
use crate::types::{EventTypeOut, ListResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventTypeRow {
    pub name: String,
    pub description: String,
    pub schemas: Option<Json<Value>>,
    pub archived: bool,
    pub deprecated: bool,
    pub feature_flag: Option<String>,
    pub group_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EventTypeRow> for EventTypeOut {
    fn from(r: EventTypeRow) -> Self {
        Self {
            name: r.name,
            description: r.description,
            schemas: r.schemas.map(|j| j.0),
            archived: r.archived,
            deprecated: r.deprecated,
            feature_flags: r.feature_flag.clone().map(|f| vec![f]),
            feature_flag: r.feature_flag,
            group_name: r.group_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLS: &str =
    "name, description, schemas, archived, deprecated, feature_flag, group_name, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct EventTypeWrite<'a> {
    pub description: &'a str,
    pub schemas: Option<&'a Value>,
    pub archived: bool,
    pub deprecated: bool,
    pub feature_flag: Option<&'a str>,
    pub group_name: Option<&'a str>,
}

/// Creates the event type, or brings back an archived one of the same name with the new
/// fields (as Svix's create does). `None`: a live event type already has the name.
pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: &str,
    name: &str,
    w: &EventTypeWrite<'_>,
) -> sqlx::Result<Option<EventTypeRow>> {
    sqlx::query_as(&format!(
        "INSERT INTO event_types (org_id, name, description, schemas, archived, deprecated, feature_flag, group_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (org_id, name) DO UPDATE
             SET description = EXCLUDED.description, schemas = EXCLUDED.schemas,
                 archived = EXCLUDED.archived, deprecated = EXCLUDED.deprecated,
                 feature_flag = EXCLUDED.feature_flag, group_name = EXCLUDED.group_name, updated_at = now()
             WHERE event_types.archived
         RETURNING {COLS}"
    ))
    .bind(org_id)
    .bind(name)
    .bind(w.description)
    .bind(w.schemas.map(Json))
    .bind(w.archived)
    .bind(w.deprecated)
    .bind(w.feature_flag)
    .bind(w.group_name)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: &str,
    name: &str,
    w: &EventTypeWrite<'_>,
) -> sqlx::Result<Option<EventTypeRow>> {
    sqlx::query_as(&format!(
        "UPDATE event_types SET description = $3, schemas = $4, archived = $5, deprecated = $6,
             feature_flag = $7, group_name = $8, updated_at = now()
         WHERE org_id = $1 AND name = $2 RETURNING {COLS}"
    ))
    .bind(org_id)
    .bind(name)
    .bind(w.description)
    .bind(w.schemas.map(Json))
    .bind(w.archived)
    .bind(w.deprecated)
    .bind(w.feature_flag)
    .bind(w.group_name)
    .fetch_optional(db)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, org_id: &str, name: &str) -> sqlx::Result<Option<EventTypeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM event_types WHERE org_id = $1 AND name = $2"
    ))
    .bind(org_id)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Names among `names` that are not live (missing or archived) event types of the org.
pub async fn unknown_names(
    db: impl PgExecutor<'_>,
    org_id: &str,
    names: &[String],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT n FROM unnest($2::text[]) AS n
         WHERE NOT EXISTS (SELECT 1 FROM event_types e WHERE e.org_id = $1 AND e.name = n AND NOT e.archived)",
    )
    .bind(org_id)
    .bind(names)
    .fetch_all(db)
    .await
}

pub async fn archive(db: impl PgExecutor<'_>, org_id: &str, name: &str) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE event_types SET archived = true, updated_at = now() WHERE org_id = $1 AND name = $2",
    )
    .bind(org_id)
    .bind(name)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn expunge(db: impl PgExecutor<'_>, org_id: &str, name: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM event_types WHERE org_id = $1 AND name = $2")
        .bind(org_id)
        .bind(name)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn list(
    db: &sqlx::PgPool,
    org_id: &str,
    include_archived: bool,
    page: &Page,
) -> sqlx::Result<ListResponse<EventTypeOut>> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLS} FROM event_types WHERE org_id = "));
    qb.push_bind(org_id);
    if !include_archived {
        qb.push(" AND NOT archived");
    }
    page.push_keyset(&mut qb, "name");
    let rows: Vec<EventTypeRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(
        page.finish(rows.into_iter().map(Into::into).collect(), |e: &EventTypeOut| {
            e.name.clone()
        }),
    )
}
