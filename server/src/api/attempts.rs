use super::error::ApiResult;
use super::extract::{Auth, Params};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use domain::types::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/app/{app_id}/attempt/msg/{msg_id}", get(by_msg))
        // the older SDKs' paths for the same lists (deprecated in Svix, still served)
        .route("/api/v1/app/{app_id}/msg/{msg_id}/attempt", get(by_msg))
        .route(
            "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/attempt",
            get(by_msg_and_endpoint),
        )
        .route(
            "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}",
            get(by_endpoint),
        )
        .route(
            "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}",
            get(fetch),
        )
        .route(
            "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content",
            delete(expunge),
        )
        .route("/api/v1/app/{app_id}/msg/{msg_id}/endpoint", get(destinations))
        .route(
            "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
            post(resend),
        )
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg",
            get(endpoint_messages),
        )
}

type P2 = Path<(String, String)>;

async fn by_msg(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg)): P2,
    q: Params,
) -> ApiResult<Json<ListResponse<MessageAttemptOut>>> {
    let page = q.page(Ordering::Descending);
    Ok(Json(
        s.services
            .list_attempts_by_msg(&t, &app, &msg, &q.attempt_filter(), q.with_content(), &page)
            .await?,
    ))
}

async fn by_msg_and_endpoint(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg, ep)): Path<(String, String, String)>,
    q: Params,
) -> ApiResult<Json<ListResponse<MessageAttemptOut>>> {
    let page = q.page(Ordering::Descending);
    let mut filter = q.attempt_filter();
    filter.endpoint_id = Some(ep);
    Ok(Json(
        s.services
            .list_attempts_by_msg(&t, &app, &msg, &filter, q.with_content(), &page)
            .await?,
    ))
}

async fn by_endpoint(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    q: Params,
) -> ApiResult<Json<ListResponse<MessageAttemptOut>>> {
    let page = q.page(Ordering::Descending);
    Ok(Json(
        s.services
            .list_attempts_by_endpoint(&t, &app, &ep, &q.attempt_filter(), q.with_content(), &page)
            .await?,
    ))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg, attempt)): Path<(String, String, String)>,
) -> ApiResult<Json<MessageAttemptOut>> {
    Ok(Json(
        s.services
            .get_attempt(&t, &app, &msg, &attempt)
            .await?
            .into_out(true),
    ))
}

async fn expunge(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg, attempt)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    s.services.expunge_attempt(&t, &app, &msg, &attempt).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn destinations(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg)): P2,
    q: Params,
) -> ApiResult<Json<ListResponse<MessageEndpointOut>>> {
    Ok(Json(
        s.services
            .message_destinations(&t, &app, &msg, &q.page(Ordering::Ascending))
            .await?,
    ))
}

/// 202 with `{}`: the SDKs parse a JSON object from the body.
async fn resend(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, msg, ep)): Path<(String, String, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    s.services.resend(&t, &app, &msg, &ep).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

async fn endpoint_messages(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    q: Params,
) -> ApiResult<Json<ListResponse<EndpointMessageOut>>> {
    let page = q.page(Ordering::Descending);
    Ok(Json(
        s.services
            .endpoint_messages(&t, &app, &ep, &q.attempt_filter(), q.with_content(), &page)
            .await?,
    ))
}
