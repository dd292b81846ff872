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
        .route("/api/v1/app", get(list).post(create))
        .route(
            "/api/v1/app/{app_id}",
            get(fetch).put(upsert).patch(patch).delete(remove),
        )
        .route("/api/v1/auth/app-portal-access/{app_id}", post(portal_access))
        .route("/api/v1/auth/dashboard-access/{app_id}", post(dashboard_access))
        .route("/api/v1/auth/app/{app_id}/expire-all", post(expire_all))
        .route("/api/v1/auth/logout", post(logout))
}

fn created(was_created: bool) -> StatusCode {
    if was_created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

async fn list(
    State(s): State<AppState>,
    Auth(t): Auth,
    q: Params,
) -> ApiResult<Json<ListResponse<ApplicationOut>>> {
    Ok(Json(
        s.services
            .list_apps(&t, q.app_filter(), &q.page(Ordering::Ascending))
            .await?,
    ))
}

async fn create(
    State(s): State<AppState>,
    Auth(t): Auth,
    q: Params,
    ApiJson(body): ApiJson<ApplicationIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let (app, was_created) = s
        .services
        .create_app(&t, body, q.get_if_exists.unwrap_or(false))
        .await?;
    Ok((created(was_created), Json(app)))
}

async fn fetch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json(s.services.get_app(&t, &app).await?))
}

async fn upsert(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<ApplicationIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let (app, was_created) = s.services.upsert_app(&t, &app, body).await?;
    Ok((created(was_created), Json(app)))
}

async fn patch(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<ApplicationPatch>,
) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json(s.services.patch_app(&t, &app, body).await?))
}

async fn remove(State(s): State<AppState>, Auth(t): Auth, Path(app): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_app(&t, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn portal_access(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    JsonOrDefault(input): JsonOrDefault<AppPortalAccessIn>,
) -> ApiResult<Json<AppPortalAccessOut>> {
    Ok(Json(s.services.app_portal_access(&t, &app, input).await?))
}

/// The deprecated form of app-portal-access, still in the SDKs: a full portal for an hour.
async fn dashboard_access(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
) -> ApiResult<Json<DashboardAccessOut>> {
    let out = s.services.app_portal_access(&t, &app, Default::default()).await?;
    Ok(Json(DashboardAccessOut {
        url: out.url,
        token: out.token,
    }))
}

async fn expire_all(
    State(s): State<AppState>,
    Auth(t): Auth,
    Path(app): Path<String>,
    JsonOrDefault(input): JsonOrDefault<ApplicationTokenExpireIn>,
) -> ApiResult<StatusCode> {
    s.services.expire_portal_tokens(&t, &app, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Called with an app-portal token (`appsk_…`), ends it, as in Svix; an organisation API key
/// is not ended this way (revoke it in the portal), so that call answers 409.
async fn logout(
    State(s): State<AppState>,
    Auth(_): Auth,
    scope: Option<axum::Extension<super::extract::AppScope>>,
) -> ApiResult<StatusCode> {
    match scope {
        Some(scope) => {
            s.services.logout_portal_token(&scope.token).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(super::error::ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "auth/logout ends an app-portal token (appsk_…); an API key is revoked on the portal's API keys page",
        )),
    }
}
