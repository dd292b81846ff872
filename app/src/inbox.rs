//! Server functions for test inboxes: make one (with an endpoint that delivers to it), read
//! what it received, tell it how to answer, delete it. A developer's; not in the consumer
//! portal.
use crate::error::PortalError;
use domain::types::{EndpointOut, InboxOut, InboxRequestOut};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// An inbox and what it received (newest first), with the endpoints that deliver to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxPageData {
    pub inbox: InboxOut,
    pub requests: Vec<InboxRequestOut>,
    /// (application id, endpoint) of the organisation's endpoints that deliver here.
    pub endpoints: Vec<(String, EndpointOut)>,
}

/// A new test inbox, and an endpoint of `app` that delivers to it.
#[server(prefix = "/_fn", endpoint = "create_test_inbox")]
pub async fn create_test_inbox(
    app: String,
    submission: Option<String>,
) -> Result<(InboxOut, EndpointOut), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            Ok(
                s.once_per_submission(&t, "create_test_inbox", submission.as_deref(), || {
                    s.create_inbox_endpoint(&t, &app)
                })
                .await?,
            )
        }
        .await,
    )
}

/// A test inbox of its own (no endpoint), to point anything at.
#[server(prefix = "/_fn", endpoint = "create_inbox")]
pub async fn create_inbox(submission: Option<String>) -> Result<InboxOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            Ok(
                s.once_per_submission(&t, "create_inbox", submission.as_deref(), || s.create_inbox(&t))
                    .await?,
            )
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "list_inboxes")]
pub async fn list_inboxes() -> Result<Vec<InboxOut>, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.list_inboxes(&t).await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "inbox_view")]
pub async fn inbox_view(id: String) -> Result<InboxPageData, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let inbox = s.get_inbox(&t, &id).await?;
            let requests = s.inbox_requests(&t, &inbox.id, 0).await?;
            let endpoints = s.endpoints_delivering_to(&t, &inbox.url).await?;
            Ok(InboxPageData {
                inbox,
                requests,
                endpoints,
            })
        }
        .await,
    )
}

/// Tells the inbox what to answer with: a status (200-599) and a delay in milliseconds.
#[server(prefix = "/_fn", endpoint = "set_inbox_reply")]
pub async fn set_inbox_reply(id: String, status: String, delay_ms: String) -> Result<InboxOut, PortalError> {
    ssr::respond(
        async move {
            use crate::error::FieldProblem;
            let t = ssr::account().await?.tenant();
            let number = |field: &str, v: &str, what: &str| {
                v.trim().parse::<u32>().map_err(|_| {
                    PortalError::Invalid(vec![FieldProblem {
                        field: Some(field.into()),
                        message: format!("{what} must be a whole number."),
                    }])
                })
            };
            let status = number("status", &status, "The status")?;
            let delay_ms = if delay_ms.trim().is_empty() {
                0
            } else {
                number("delay_ms", &delay_ms, "The delay")?
            };
            let reply = domain::types::InboxReplyIn {
                reply_status: u16::try_from(status).unwrap_or(u16::MAX),
                reply_delay_ms: delay_ms,
            };
            ssr::services()?
                .set_inbox_reply(&t, &id, reply)
                .await
                .map_err(|e| {
                    let mut err = PortalError::from(e);
                    if let PortalError::Invalid(ps) = &mut err {
                        for p in ps {
                            p.field = p.field.take().map(|f| match f.as_str() {
                                "replyStatus" => "status".into(),
                                "replyDelayMs" => "delay_ms".into(),
                                _ => f,
                            });
                        }
                    }
                    err
                })
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "delete_inbox")]
pub async fn delete_inbox(id: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            ssr::services()?.delete_inbox(&t, &id).await?;
            leptos_axum::redirect(crate::paths::INBOXES);
            Ok(())
        }
        .await,
    )
}
