//! Background tasks of an organisation.
use super::Page;
use crate::types::{BackgroundTaskOut, BackgroundTaskStatus, ListResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: String,
    pub status: String,
    pub task: String,
    pub data: Json<Value>,
    pub updated_at: DateTime<Utc>,
}

impl From<TaskRow> for BackgroundTaskOut {
    fn from(r: TaskRow) -> Self {
        Self {
            id: r.id,
            status: BackgroundTaskStatus::parse(&r.status).unwrap_or(BackgroundTaskStatus::Failed),
            task: r.task,
            data: r.data.0,
            updated_at: r.updated_at,
        }
    }
}

const COLS: &str = "id, status, task, data, updated_at";

pub struct NewTask<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub app_id: &'a str,
    pub endpoint_id: &'a str,
    pub task: &'a str,
    pub status: BackgroundTaskStatus,
    pub data: &'a Value,
}

pub async fn insert(db: impl PgExecutor<'_>, t: &NewTask<'_>) -> sqlx::Result<TaskRow> {
    sqlx::query_as(&format!(
        "INSERT INTO background_tasks (id, org_id, app_id, endpoint_id, task, status, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLS}"
    ))
    .bind(t.id)
    .bind(t.org_id)
    .bind(t.app_id)
    .bind(t.endpoint_id)
    .bind(t.task)
    .bind(t.status.as_str())
    .bind(Json(t.data))
    .fetch_one(db)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, org_id: &str, id: &str) -> sqlx::Result<Option<TaskRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM background_tasks WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<BackgroundTaskStatus>,
    pub task: Option<String>,
}

/// Newest first by default, as Svix lists them.
pub async fn list(
    db: &sqlx::PgPool,
    org_id: &str,
    f: &TaskFilter,
    page: &Page,
) -> sqlx::Result<ListResponse<TaskRow>> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLS} FROM background_tasks WHERE org_id = "));
    qb.push_bind(org_id);
    if let Some(s) = f.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(t) = &f.task {
        qb.push(" AND task = ").push_bind(t);
    }
    page.push_keyset(&mut qb, "id");
    let rows: Vec<TaskRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(page.finish(rows, |t| t.id.clone()))
}
