//! The audit log. Entries are written with the executor of the change they record (its
//! transaction), so a change is never kept without its entry, nor an entry without its change.
use super::Page;
use crate::types::ListResponse;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgExecutor;

/// One entry to write.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub id: &'a str,
    pub actor_kind: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub app_id: Option<&'a str>,
    pub details: &'a serde_json::Value,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub app_id: Option<String>,
    pub details: Json<serde_json::Value>,
}

/// Which entries a listing shows: exact action and application, and an actor containing the
/// text (case-insensitive), each when given.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub app_id: Option<String>,
}

pub async fn record(db: impl PgExecutor<'_>, org_id: &str, e: &NewEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, org_id, actor_kind, actor, action, target, app_id, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.id)
    .bind(org_id)
    .bind(e.actor_kind)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.app_id)
    .bind(Json(e.details))
    .execute(db)
    .await?;
    Ok(())
}

/// The organisations the user belongs to: a change to the account itself (its password) is
/// recorded in each of them.
pub async fn member_orgs(db: impl PgExecutor<'_>, user_id: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY org_id")
        .bind(user_id)
        .fetch_all(db)
        .await
}

const COLS: &str = "id, at, actor_kind, actor, action, target, app_id, details";

pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: &str,
    f: &EntryFilter,
    page: &Page,
) -> sqlx::Result<ListResponse<EntryRow>> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLS} FROM audit_log WHERE org_id = "));
    qb.push_bind(org_id);
    if let Some(a) = &f.action {
        qb.push(" AND action = ").push_bind(a);
    }
    if let Some(a) = &f.actor {
        qb.push(" AND strpos(lower(actor), lower(")
            .push_bind(a)
            .push(")) > 0");
    }
    if let Some(a) = &f.app_id {
        qb.push(" AND app_id = ").push_bind(a);
    }
    page.push_keyset(&mut qb, "id");
    let rows: Vec<EntryRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(page.finish(rows, |r| r.id.clone()))
}
