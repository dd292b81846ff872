use super::error::ApiResult;
use super::extract::{ApiJson, Auth, Params};
use super::idempotency::{IdempotencyKey, RecordedInHandler};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use domain::service::messages::IdempotentCompletion;
use domain::types::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/app/{app_id}/msg", get(list).post(create))
        .route("/api/v1/app/{app_id}/msg/{msg_id}", get(fetch))
        .route("/api/v1/app/{app_id}/msg/{msg_id}/content", delete(expunge))
}

/// 202: the message is stored and its deliveries queued, in one transaction with the
/// idempotency record, before this answers.
async fn create(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    q: Params,
    key: Option<Extension<IdempotencyKey>>,
    ApiJson(body): ApiJson<MessageIn>,
) -> ApiResult<Response> {
    let idem = key.as_ref().map(|k| IdempotentCompletion {
        key: &k.0 .0,
        status_code: 202,
    });
    let recorded = idem.is_some();
    let out = s
        .services
        .create_message(&t, &app, body, q.with_content(), idem)
        .await?;
    let mut resp = (StatusCode::ACCEPTED, Json(out)).into_response();
    if recorded {
        resp.extensions_mut().insert(RecordedInHandler);
    }
    Ok(resp)
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    q: Params,
) -> ApiResult<Json<ListResponse<MessageOut>>> {
    let page = q.page(Ordering::Descending);
    Ok(Json(
        s.services
            .list_messages(&t, &app, &q.message_filter(), q.with_content(), &page)
            .await?,
    ))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg)): Path<(String, String)>,
    q: Params,
) -> ApiResult<Json<MessageOut>> {
    Ok(Json(
        s.services.get_message(&t, &app, &msg, q.with_content()).await?,
    ))
}

async fn expunge(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.services.expunge_message(&t, &app, &msg).await?;
    Ok(StatusCode::NO_CONTENT)
}
