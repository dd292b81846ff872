//! The portal's one error type: what a server function can fail with, in words for the page.
//! Internal details never reach the browser; they are logged on the server.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A problem with one form field (`field` matches the input's `name`), or with the whole form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum PortalError {
    #[error("{}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<FieldProblem>),
    #[error("Please log in to continue.")]
    LoggedOut,
    #[error("This portal link is invalid or has expired. Ask for a new link.")]
    LinkExpired,
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("That could not be found. It may have been deleted.")]
    NotFound,
    #[error("This portal link is read-only: it shows everything but changes nothing.")]
    ReadOnly,
    /// The person's role in the organisation does not allow this.
    #[error("{0}")]
    Forbidden(String),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error(
        "The database is not reachable right now, so nothing was changed. Please try again in a moment."
    )]
    Unavailable,
    #[error("The request did not get through. Check your connection and try again.")]
    Transport(String),
}

impl PortalError {
    pub fn form(message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldProblem {
            field: None,
            message: message.into(),
        }])
    }

    /// The HTTP status a server function answers with when it fails this way.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) => 422,
            Self::LoggedOut | Self::LinkExpired => 401,
            Self::TooManyAttempts(_) => 429,
            Self::NotFound => 404,
            Self::ReadOnly | Self::Forbidden(_) => 403,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::Transport(_) => 400,
        }
    }

    /// The message for one field, if this error names it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(ps) => ps
                .iter()
                .find(|p| p.field.as_deref() == Some(field))
                .map(|p| p.message.clone()),
            _ => None,
        }
    }

    /// The message for the whole form: everything not tied to a field.
    pub fn general(&self) -> Option<String> {
        match self {
            Self::Invalid(ps) => {
                let msgs: Vec<_> = ps
                    .iter()
                    .filter(|p| p.field.is_none())
                    .map(|p| p.message.clone())
                    .collect();
                (!msgs.is_empty()).then(|| msgs.join(" "))
            }
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for PortalError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        Self::Transport(e.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<domain::DomainError> for PortalError {
    fn from(e: domain::DomainError) -> Self {
        use domain::DomainError as D;
        match e {
            D::Validation(items) => Self::Invalid(
                items
                    .into_iter()
                    .map(|i| FieldProblem {
                        field: i.loc.last().cloned(),
                        message: i.msg,
                    })
                    .collect(),
            ),
            D::NotFound(_) => Self::NotFound,
            D::Conflict(m) | D::Unauthorized(m) => Self::form(m),
            D::BadRequest { detail, .. } => Self::form(detail),
            D::TooManyRequests(m) => Self::TooManyAttempts(m),
            D::Database(e) if domain::store::is_unavailable(&e) => {
                tracing::warn!(error = %e, "portal request: database unavailable");
                Self::Unavailable
            }
            e @ (D::Database(_) | D::Internal(_)) => {
                tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "portal request failed");
                Self::Internal
            }
        }
    }
}
