//! The REST API under `/api/v1`, following the open-source Svix server: one router per
//! resource, merged here.
mod applications;
mod attempts;
mod endpoints;
pub mod error;
mod event_types;
pub mod extract;
mod guard;
mod health;
pub mod idempotency;
mod messages;
mod operational;
mod tasks;

use crate::config::Settings;
use axum::extract::FromRef;
use axum::Router;
use domain::service::Services;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub settings: Arc<Settings>,
    pub metrics: PrometheusHandle,
}

/// Every `/api/v1` route. Body size is limited by the caller's layer.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(applications::router())
        .merge(endpoints::router())
        .merge(messages::router())
        .merge(attempts::router())
        .merge(event_types::router())
        .merge(health::router())
        .merge(tasks::router())
        .merge(operational::router())
        .route("/api", axum::routing::any(guard::not_found))
        .route("/api/{*rest}", axum::routing::any(guard::not_found))
        .layer(axum::middleware::from_fn_with_state(
            state,
            idempotency::middleware,
        ))
        .layer(axum::middleware::from_fn(guard::middleware))
}
