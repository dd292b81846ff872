//! The one error type that domain operations return. The HTTP layer maps it to Svix's
//! `{code, detail}` body; the portal maps it to inline messages.
use serde::{Deserialize, Serialize};

/// One field-level problem, in the shape of Svix's `ValidationErrorItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrorItem {
    /// Where the problem is, e.g. `["body", "url"]`.
    pub loc: Vec<String>,
    /// A sentence a person understands.
    pub msg: String,
    /// A machine-readable kind, e.g. `value_error`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationErrorItem {
    pub fn body(field: &str, msg: impl Into<String>) -> Self {
        Self {
            loc: vec!["body".into(), field.into()],
            msg: msg.into(),
            kind: "value_error".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist *for this organisation* (other tenants' ids look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("validation failed")]
    Validation(Vec<ValidationErrorItem>),
    /// A request that is well-formed but cannot be honoured; `code` is a stable token.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    #[cfg(feature = "server")]
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn validation(field: &str, msg: impl Into<String>) -> Self {
        Self::Validation(vec![ValidationErrorItem::body(field, msg)])
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
