use super::error::ApiResult;
use super::extract::{ApiJson, Auth, Params};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::types::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/event-type", get(list).post(create))
        .route(
            "/api/v1/event-type/{name}",
            get(fetch).put(upsert).patch(patch).delete(remove),
        )
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    app_token: Option<axum::Extension<super::extract::AppScope>>,
    q: Params,
) -> ApiResult<Json<ListResponse<EventTypeOut>>> {
    let mut list = s
        .services
        .list_event_types(
            &t,
            q.include_archived.unwrap_or(false),
            &q.page(Ordering::Ascending),
        )
        .await?;
    // An app-portal token sees event types behind a feature flag only when it carries the flag.
    if let Some(a) = app_token {
        list.data.retain(|e| a.scope.sees_flag(e.feature_flag.as_deref()));
    }
    // The spec's default: the schemas only when asked for (`with_content=true`).
    if !q.with_content.unwrap_or(false) {
        list.data.iter_mut().for_each(|e| e.schemas = None);
    }
    Ok(Json(list))
}

async fn create(
    State(s): State<AppState>,
    Auth(t): Auth,
    ApiJson(body): ApiJson<EventTypeIn>,
) -> ApiResult<(StatusCode, Json<EventTypeOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.create_event_type(&t, body).await?),
    ))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<EventTypeOut>> {
    Ok(Json(s.services.get_event_type(&t, &name).await?))
}

async fn upsert(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<EventTypeUpdate>,
) -> ApiResult<(StatusCode, Json<EventTypeOut>)> {
    let (et, created) = s.services.upsert_event_type(&t, &name, body).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(et),
    ))
}

async fn patch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<EventTypePatch>,
) -> ApiResult<Json<EventTypeOut>> {
    Ok(Json(s.services.patch_event_type(&t, &name, body).await?))
}

async fn remove(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(name): Path<String>,
    q: Params,
) -> ApiResult<StatusCode> {
    s.services
        .delete_event_type(&t, &name, q.expunge.unwrap_or(false))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
