use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/health/ping", get(|| async { StatusCode::NO_CONTENT }))
}

/// 204 when the database answers; 503 with a reason otherwise.
async fn health(State(s): State<AppState>) -> Response {
    match domain::store::ping(&s.services.pool).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"code": "database_unavailable", "detail": "the database is not reachable"})),
            )
                .into_response()
        }
    }
}
