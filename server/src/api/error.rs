//! The one error type of the HTTP boundary: Svix's `{code, detail}` body (or
//! `{detail: [ValidationErrorItem]}` for 422). Internal errors are logged once with their cause
//! chain and answered with an opaque 500.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{DomainError, ValidationErrorItem};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    /// A plain client error with a stable code.
    Status {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Status {
            status,
            code,
            detail: detail.into(),
        }
    }
    pub fn validation(loc: Vec<String>, msg: impl Into<String>) -> Self {
        Self::Domain(DomainError::Validation(vec![ValidationErrorItem {
            loc,
            msg: msg.into(),
            kind: "value_error".into(),
        }]))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Domain(DomainError::Database(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Status { status, code, detail } => (status, json!({ "code": code, "detail": detail })),
            ApiError::Domain(e) => match e {
                DomainError::NotFound(what) => (
                    StatusCode::NOT_FOUND,
                    json!({"code": "not_found", "detail": format!("{what} not found")}),
                ),
                DomainError::Conflict(detail) => (
                    StatusCode::CONFLICT,
                    json!({"code": "conflict", "detail": detail}),
                ),
                DomainError::Validation(items) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, json!({ "detail": items }))
                }
                DomainError::BadRequest { code, detail } => {
                    (StatusCode::BAD_REQUEST, json!({"code": code, "detail": detail}))
                }
                DomainError::Unauthorized(detail) => (
                    StatusCode::UNAUTHORIZED,
                    json!({"code": "authentication_failed", "detail": detail}),
                ),
                DomainError::TooManyRequests(detail) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"code": "rate_limited", "detail": detail}),
                ),
                DomainError::Database(e) if domain::store::is_unavailable(&e) => {
                    tracing::warn!(error = %e, "database unavailable; answered 503");
                    let body = json!({"code": "database_unavailable",
                        "detail": "the database is not reachable right now; the request may not have been stored: retry it (with the same Idempotency-Key) shortly"});
                    let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                    r.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static("5"),
                    );
                    return r;
                }
                DomainError::Database(e) if is_unstorable_text(&e) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"detail": [{"loc": ["body"], "type": "value_error",
                        "msg": "the request holds text PostgreSQL cannot store (a NUL character or an invalid byte sequence)"}]}),
                ),
                e @ (DomainError::Database(_) | DomainError::Internal(_)) => {
                    let mut chain = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        chain.push_str(": ");
                        chain.push_str(&s.to_string());
                        src = s.source();
                    }
                    tracing::error!(error = %chain, "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"code": "internal_error", "detail": "internal server error"}),
                    )
                }
            },
        };
        (status, Json(body)).into_response()
    }
}

/// SQLSTATE 22021 (a byte sequence the encoding refuses, as NUL in text) and 22P05 (an escape
/// jsonb cannot hold, as \u0000): the client's data, never a server fault. The extractors refuse
/// such input first; this keeps any path they miss a 4xx.
fn is_unstorable_text(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "22021" || c == "22P05")
}
