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
        .route("/api/v1/app/{app_id}/endpoint", get(list).post(create))
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}",
            get(fetch).put(upsert).patch(patch).delete(remove),
        )
        .route("/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret", get(secret))
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate",
            post(rotate),
        )
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers",
            get(headers).put(set_headers).patch(patch_headers),
        )
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover",
            post(recover),
        )
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing",
            post(replay_missing),
        )
        .route(
            "/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example",
            post(send_example),
        )
        .route("/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats", get(stats))
}

type P2 = Path<(String, String)>;

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    q: Params,
) -> ApiResult<Json<ListResponse<EndpointOut>>> {
    Ok(Json(
        s.services
            .list_endpoints(&t, &app, &q.page(Ordering::Descending)) // newest first, as in Svix
            .await?,
    ))
}

async fn create(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<EndpointIn>,
) -> ApiResult<(StatusCode, Json<EndpointOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.create_endpoint(&t, &app, body).await?),
    ))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
) -> ApiResult<Json<EndpointOut>> {
    Ok(Json(s.services.get_endpoint(&t, &app, &ep).await?.into()))
}

async fn upsert(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<EndpointIn>,
) -> ApiResult<(StatusCode, Json<EndpointOut>)> {
    let (out, created) = s.services.upsert_endpoint(&t, &app, &ep, body).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(out),
    ))
}

async fn patch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<EndpointPatch>,
) -> ApiResult<Json<EndpointOut>> {
    Ok(Json(s.services.patch_endpoint(&t, &app, &ep, body).await?))
}

async fn remove(State(s): State<AppState>, Auth(t): Auth, Path((app, ep)): P2) -> ApiResult<StatusCode> {
    s.services.delete_endpoint(&t, &app, &ep).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn secret(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
) -> ApiResult<Json<EndpointSecretOut>> {
    Ok(Json(s.services.endpoint_secret(&t, &app, &ep).await?))
}

/// The OpenAPI document says 204, but the official SDKs parse the new secret from the body.
async fn rotate(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    JsonOrDefault(input): JsonOrDefault<EndpointSecretRotateIn>,
) -> ApiResult<Json<EndpointSecretOut>> {
    Ok(Json(
        s.services.rotate_endpoint_secret(&t, &app, &ep, input).await?,
    ))
}

async fn headers(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
) -> ApiResult<Json<EndpointHeadersOut>> {
    Ok(Json(s.services.endpoint_headers(&t, &app, &ep).await?))
}

async fn set_headers(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<EndpointHeadersIn>,
) -> ApiResult<StatusCode> {
    s.services
        .set_endpoint_headers(&t, &app, &ep, body, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn patch_headers(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<EndpointHeadersIn>,
) -> ApiResult<StatusCode> {
    s.services.set_endpoint_headers(&t, &app, &ep, body, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn recover(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<RecoverIn>,
) -> ApiResult<(StatusCode, Json<RecoverOut>)> {
    let (out, _) = s.services.recover_endpoint(&t, &app, &ep, body).await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

async fn replay_missing(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<ReplayIn>,
) -> ApiResult<(StatusCode, Json<TaskStartedOut>)> {
    let (out, _) = s.services.replay_missing(&t, &app, &ep, body).await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

async fn send_example(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    ApiJson(body): ApiJson<EventExampleIn>,
) -> ApiResult<Json<MessageOut>> {
    Ok(Json(s.services.send_example(&t, &app, &ep, body).await?))
}

async fn stats(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path((app, ep)): P2,
    q: Params,
) -> ApiResult<Json<EndpointStats>> {
    Ok(Json(
        s.services.endpoint_stats(&t, &app, &ep, q.since, q.until).await?,
    ))
}
