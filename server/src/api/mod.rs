//! The REST API under `/api/v1`, following the open-source Svix server: one router per
//! resource, merged here.
mod applications;
mod attempts;
mod audit;
mod endpoints;
pub mod error;
mod event_types;
pub mod extract;
mod guard;
mod health;
pub mod idempotency;
mod messages;
mod operational;
mod scope;
mod tasks;

use crate::config::Settings;
use axum::extract::FromRef;
use axum::Router;
use domain::service::Services;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What every handler shares. Cloned per request (axum's `State`), so it is one `Arc`: a
/// profile of the ingest benchmark found copying and dropping its fields by value (the Leptos
/// options' strings, the services' options) among the server's top items.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub settings: Arc<Settings>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// For Leptos's routes (the portal), which read the options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
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
        .merge(audit::router())
        .merge(operational::router())
        .route("/api", axum::routing::any(guard::not_found))
        .route("/api/{*rest}", axum::routing::any(guard::not_found))
        .layer(axum::middleware::from_fn_with_state(
            state,
            idempotency::middleware,
        ))
        .layer(axum::middleware::from_fn(guard::middleware))
}
