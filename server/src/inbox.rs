//! `/inbox/{token}`: a test inbox's URL. Whatever arrives is recorded (the portal shows it)
//! and answered with the status and delay the inbox was told to give. Hookline's own
//! deliveries to an inbox never come this way (they are recorded inside); this is for
//! anything else a user points at it.
use crate::api::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::time::Duration;

pub async fn receive(
    State(s): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).replace('\0', "\u{FFFD}");
            (k.as_str().to_string(), Value::String(v))
        })
        .collect();
    // PostgreSQL text holds neither NUL nor broken UTF-8: kept as readable text
    let body = String::from_utf8_lossy(&body).replace('\0', "\u{FFFD}");
    let reply = s
        .services
        .receive_at_inbox(&token, method.as_str(), &Value::Object(recorded), &body)
        .await;
    match reply {
        Ok(Some((status, delay_ms))) => {
            tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, Json(json!({"recorded": true, "status": status.as_u16()}))).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "not_found", "detail": "no such test inbox: it was deleted or has expired"})),
        )
            .into_response(),
        Err(e) => crate::api::error::ApiError::from(e).into_response(),
    }
}
