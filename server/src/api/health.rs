use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/health/ping", get(|| async { StatusCode::NO_CONTENT }))
}

/// 204 when the database answers within two seconds; 503 with a reason otherwise (a load
/// balancer's check must not wait out the pool's acquire timeout).
async fn health(State(s): State<AppState>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(2), domain::store::ping(&s.services.pool));
    match ping.await.unwrap_or(Err(sqlx::Error::PoolTimedOut)) {
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
