//! The first-run path on one screen: name an application, add an endpoint (a URL, or a test
//! inbox), send a test event, see it arrive. Its progress lives in the page's address
//! (`/welcome?app=…&endpoint=…&inbox=…&msg=…`), so a reload or a page without JavaScript
//! shows the same step.
use crate::error::PortalError;
use domain::types::{ApplicationOut, EndpointOut, InboxOut, InboxRequestOut, MessageStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// The event type a first test event gets when the catalogue is empty.
pub const FIRST_EVENT_TYPE: &str = "hookline.test";

/// The payload a first test event carries.
pub fn sample_payload() -> String {
    "{\n  \"hello\": \"world\",\n  \"sentFrom\": \"the Hookline portal\"\n}".into()
}

/// Where the path stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    pub app: Option<ApplicationOut>,
    pub endpoint: Option<EndpointOut>,
    pub inbox: Option<InboxOut>,
    /// The event types in the catalogue (a test event may use another name).
    pub event_types: Vec<String>,
    pub sent: Option<Sent>,
}

/// The test event sent, and how its delivery went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sent {
    pub msg_id: String,
    pub event_type: String,
    pub status: MessageStatus,
    /// Attempts so far, and the last one's HTTP status (0: no answer) and duration.
    pub attempts: usize,
    pub last: Option<(u16, i64)>,
    /// What the test inbox recorded, when the endpoint is one.
    pub received: Option<InboxRequestOut>,
}

impl Progress {
    /// Delivered, or failed for good: nothing more will change by itself.
    pub fn settled(&self) -> bool {
        self.sent
            .as_ref()
            .is_none_or(|s| matches!(s.status, MessageStatus::Success | MessageStatus::Fail))
    }
}

/// The address of the path at a given point.
pub fn welcome_url(
    app: Option<&str>,
    endpoint: Option<&str>,
    inbox: Option<&str>,
    msg: Option<&str>,
) -> String {
    let pairs: Vec<String> = [
        ("app", app),
        ("endpoint", endpoint),
        ("inbox", inbox),
        ("msg", msg),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={v}")))
    .collect();
    if pairs.is_empty() {
        crate::paths::WELCOME.to_string()
    } else {
        format!("{}?{}", crate::paths::WELCOME, pairs.join("&"))
    }
}

#[server(prefix = "/_fn", endpoint = "welcome_progress")]
pub async fn welcome_progress(
    app: Option<String>,
    endpoint: Option<String>,
    inbox: Option<String>,
    msg: Option<String>,
) -> Result<Progress, PortalError> {
    ssr::respond(
        async move {
            use domain::store::Page;
            use domain::types::Ordering;
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let mut p = Progress {
                event_types: s
                    .list_event_types(&t, false, &Page::new(Some(250), None, Ordering::Ascending))
                    .await?
                    .data
                    .into_iter()
                    .map(|e| e.name)
                    .collect(),
                ..Progress::default()
            };
            // each step only counts once the one before it is there (a stale or foreign id
            // in the address starts the path again from that step)
            let Some(app) = app.filter(|a| !a.is_empty()) else {
                return Ok(p);
            };
            let Ok(app) = s.get_app(&t, &app).await else {
                return Ok(p);
            };
            p.app = Some(app.clone());
            let Some(ep) = endpoint.filter(|e| !e.is_empty()) else {
                return Ok(p);
            };
            let Ok(ep) = s.get_endpoint(&t, &app.id, &ep).await else {
                return Ok(p);
            };
            let ep = EndpointOut::from(ep);
            p.endpoint = Some(ep.clone());
            if let Some(id) = inbox.filter(|i| !i.is_empty()) {
                p.inbox = s.get_inbox(&t, &id).await.ok().filter(|i| i.url == ep.url);
            }
            let Some(msg) = msg.filter(|m| !m.is_empty()) else {
                return Ok(p);
            };
            let Ok(m) = s.get_message(&t, &app.id, &msg, false).await else {
                return Ok(p);
            };
            let page = Page::new(Some(250), None, Ordering::Ascending);
            let status = s
                .message_destinations(&t, &app.id, &m.id, &page)
                .await?
                .data
                .into_iter()
                .find(|d| d.endpoint.id == ep.id)
                .map(|d| d.status)
                .unwrap_or(MessageStatus::Pending);
            let attempts: Vec<_> = s
                .attempts_with_headers(&t, &app.id, &m.id)
                .await?
                .into_iter()
                .filter(|(a, _)| a.endpoint_id == ep.id)
                .map(|(a, _)| a)
                .collect();
            let received = match &p.inbox {
                Some(i) => s
                    .inbox_requests(&t, &i.id, 0)
                    .await?
                    .into_iter()
                    .find(|r| r.msg_id.as_deref() == Some(m.id.as_str())),
                None => None,
            };
            p.sent = Some(Sent {
                attempts: attempts.len(),
                last: attempts.last().map(|a| {
                    (
                        u16::try_from(a.response_status_code).unwrap_or(0),
                        a.response_duration_ms,
                    )
                }),
                msg_id: m.id,
                event_type: m.event_type,
                status,
                received,
            });
            Ok(p)
        }
        .await,
    )
}

/// Step 1: the application. Goes on to step 2.
#[server(prefix = "/_fn", endpoint = "welcome_create_app")]
pub async fn welcome_create_app(
    name: String,
    submission: Option<String>,
) -> Result<ApplicationOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let input = domain::types::ApplicationIn {
                name,
                ..Default::default()
            };
            let app = s
                .once_per_submission(&t, "create_app", submission.as_deref(), || async {
                    Ok(s.create_app(&t, input, false).await?.0)
                })
                .await?;
            leptos_axum::redirect(&welcome_url(Some(&app.id), None, None, None));
            Ok(app)
        }
        .await,
    )
}

/// Step 2, the quick way: a test inbox and an endpoint that delivers to it.
#[server(prefix = "/_fn", endpoint = "welcome_use_inbox")]
pub async fn welcome_use_inbox(app: String, submission: Option<String>) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let (inbox, ep) = s
                .once_per_submission(&t, "create_test_inbox", submission.as_deref(), || {
                    s.create_inbox_endpoint(&t, &app)
                })
                .await?;
            leptos_axum::redirect(&welcome_url(Some(&app), Some(&ep.id), Some(&inbox.id), None));
            Ok(())
        }
        .await,
    )
}

/// Step 2 with a URL of the user's own.
#[server(prefix = "/_fn", endpoint = "welcome_add_endpoint")]
pub async fn welcome_add_endpoint(
    app: String,
    url: String,
    submission: Option<String>,
) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let input = domain::types::EndpointIn {
                url: url.trim().to_string(),
                ..Default::default()
            };
            let ep = s
                .once_per_submission(&t, "add_endpoint", submission.as_deref(), || {
                    s.create_endpoint(&t, &app, input)
                })
                .await
                .map_err(crate::catalog::field_names)?;
            leptos_axum::redirect(&welcome_url(Some(&app), Some(&ep.id), None, None));
            Ok(())
        }
        .await,
    )
}

/// Step 3: a test event to the endpoint of step 2. Any event type name will do.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/_fn", endpoint = "welcome_send")]
pub async fn welcome_send(
    app: String,
    endpoint: String,
    inbox: Option<String>,
    event_type: String,
    payload: String,
    submission: Option<String>,
) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let payload = crate::catalog::parse_payload(&payload)?;
            let event_type = event_type.trim().to_string();
            let msg = s
                .once_per_submission(&t, "send_test_event", submission.as_deref(), || {
                    s.send_test_event(&t, &app, &endpoint, &event_type, &payload)
                })
                .await
                .map_err(crate::catalog::field_names)?;
            leptos_axum::redirect(&welcome_url(
                Some(&app),
                Some(&endpoint),
                inbox.as_deref(),
                Some(&msg.id),
            ));
            Ok(())
        }
        .await,
    )
}
