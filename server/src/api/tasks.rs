//! Background tasks: `GET /api/v1/background-task[/{task_id}]`.
use super::error::{ApiError, ApiResult};
use super::extract::{query_pairs, Auth, PageQuery};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use domain::store::tasks::TaskFilter;
use domain::store::Page;
use domain::types::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/background-task", get(list))
        .route("/api/v1/background-task/{task_id}", get(fetch))
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    parts: Parts,
) -> ApiResult<Json<ListResponse<BackgroundTaskOut>>> {
    let (filter, page) = task_query(parts.uri.query().unwrap_or(""))?;
    Ok(Json(s.services.list_background_tasks(&t, &filter, &page).await?))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<BackgroundTaskOut>> {
    Ok(Json(s.services.get_background_task(&t, &id).await?))
}

/// The list's own parameters: `status` here is a word (`running`, `finished`, `failed`), not
/// the message status number of the other lists.
fn task_query(query: &str) -> Result<(TaskFilter, Page), ApiError> {
    let bad = |name: &str, msg: String| ApiError::validation(vec!["query".into(), name.into()], msg);
    let mut f = TaskFilter::default();
    let mut page = PageQuery::newest_first();
    for (k, v) in query_pairs(query)? {
        match k.as_str() {
            "status" => {
                f.status = Some(BackgroundTaskStatus::parse(&v).ok_or_else(|| {
                    bad(
                        "status",
                        format!("status must be running, finished or failed, not '{v}'"),
                    )
                })?)
            }
            "task" => {
                if !TASK_KINDS.contains(&v.as_str()) {
                    return Err(bad(
                        "task",
                        format!("task must be one of {}, not '{v}'", TASK_KINDS.join(", ")),
                    ));
                }
                f.task = Some(v);
            }
            _ => {
                page.take(&k, v)?;
            }
        }
    }
    Ok((f, page.page()))
}
