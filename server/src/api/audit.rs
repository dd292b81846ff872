//! The audit log: `GET /api/v1/audit-log`, newest first, filtered by `action`, `actor` (text
//! the actor's name contains) and `app_id`.
use super::error::{ApiError, ApiResult};
use super::extract::{query_pairs, Auth, PageQuery};
use super::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use domain::store::audit::EntryFilter;
use domain::store::Page;
use domain::types::{AuditEntryOut, ListResponse};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit-log", get(list))
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    parts: Parts,
) -> ApiResult<Json<ListResponse<AuditEntryOut>>> {
    let (filter, page) = audit_query(parts.uri.query().unwrap_or(""))?;
    Ok(Json(s.services.audit_log(&t, filter, &page).await?))
}

fn audit_query(query: &str) -> Result<(EntryFilter, Page), ApiError> {
    let mut f = EntryFilter::default();
    let mut page = PageQuery::newest_first();
    for (k, v) in query_pairs(query)? {
        let v = v.trim().to_string();
        match k.as_str() {
            "action" if !v.is_empty() => f.action = Some(v),
            "actor" if !v.is_empty() => f.actor = Some(v),
            "app_id" if !v.is_empty() => f.app_id = Some(v),
            _ => page.take(&k, v)?,
        }
    }
    Ok((f, page.page()))
}
