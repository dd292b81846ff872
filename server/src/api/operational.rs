//! Svix's operational webhooks: `/api/v1/operational-webhook/endpoint` and its secret and
//! headers. The endpoints receive events about the organisation's own endpoints and
//! deliveries (see `domain::service::operational`).
use super::error::ApiResult;
use super::extract::{ApiJson, Auth, JsonOrDefault, Params};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::types::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/operational-webhook/endpoint", get(list).post(create))
        .route(
            "/api/v1/operational-webhook/endpoint/{endpoint_id}",
            get(fetch).put(upsert).delete(remove),
        )
        .route(
            "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret",
            get(secret),
        )
        .route(
            "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate",
            post(rotate),
        )
        .route(
            "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers",
            get(headers).put(set_headers),
        )
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    q: Params,
) -> ApiResult<Json<ListResponse<OperationalEndpointOut>>> {
    let page = q.page(Ordering::Descending); // newest first, as in Svix
    Ok(Json(s.services.list_operational_endpoints(&t, &page).await?))
}

async fn create(
    State(s): State<AppState>,
    Auth(t): Auth,
    ApiJson(body): ApiJson<OperationalEndpointIn>,
) -> ApiResult<(StatusCode, Json<OperationalEndpointOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.create_operational_endpoint(&t, body).await?),
    ))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
) -> ApiResult<Json<OperationalEndpointOut>> {
    Ok(Json(s.services.get_operational_endpoint(&t, &ep).await?))
}

async fn upsert(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
    ApiJson(body): ApiJson<OperationalEndpointUpsertIn>,
) -> ApiResult<(StatusCode, Json<OperationalEndpointOut>)> {
    let (out, created) = s.services.upsert_operational_endpoint(&t, &ep, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)))
}

async fn remove(State(s): State<AppState>, Auth(t): Auth, Path(ep): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_operational_endpoint(&t, &ep).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn secret(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
) -> ApiResult<Json<EndpointSecretOut>> {
    Ok(Json(s.services.operational_endpoint_secret(&t, &ep).await?))
}

/// 204, as Svix's operational-webhook API answers (its SDKs read nothing back).
async fn rotate(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
    JsonOrDefault(input): JsonOrDefault<EndpointSecretRotateIn>,
) -> ApiResult<StatusCode> {
    s.services
        .rotate_operational_endpoint_secret(&t, &ep, input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn headers(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
) -> ApiResult<Json<EndpointHeadersOut>> {
    Ok(Json(s.services.operational_endpoint_headers(&t, &ep).await?))
}

async fn set_headers(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(ep): Path<String>,
    ApiJson(body): ApiJson<OperationalEndpointHeadersIn>,
) -> ApiResult<StatusCode> {
    s.services.set_operational_endpoint_headers(&t, &ep, body).await?;
    Ok(StatusCode::NO_CONTENT)
}
