//! A message's delivery timeline: per endpoint, every attempt in order and what happens next.
use crate::error::PortalError;
use chrono::{DateTime, Utc};
use domain::types::{MessageAttemptOut, MessageOut, MessageStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptView {
    pub attempt: MessageAttemptOut,
    pub request_headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointTimeline {
    pub endpoint_id: String,
    pub url: String,
    pub status: MessageStatus,
    pub next_attempt: Option<DateTime<Utc>>,
    /// Seconds until the next attempt, as of when this was read (for the countdown).
    pub next_in_secs: Option<i64>,
    /// While an attempt is in flight: how many seconds ago it started.
    pub sending_for_secs: Option<i64>,
    pub attempts: Vec<AttemptView>,
}

impl EndpointTimeline {
    /// What each attempt was: the first try, the n-th retry, or a manual resend.
    pub fn attempt_labels(&self) -> Vec<String> {
        let mut scheduled = 0;
        self.attempts
            .iter()
            .map(|a| {
                if a.attempt.trigger_type == domain::types::TriggerType::Manual {
                    "manual resend".to_string()
                } else {
                    scheduled += 1;
                    match scheduled {
                        1 => "first try".to_string(),
                        n => format!("retry {}", n - 1),
                    }
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// A read-only portal link: no resend.
    pub read_only: bool,
    pub app_id: String,
    pub app_name: String,
    pub message: MessageOut,
    pub endpoints: Vec<EndpointTimeline>,
}

impl Timeline {
    /// Nothing pending or in flight: the page can stop refreshing.
    pub fn settled(&self) -> bool {
        self.endpoints
            .iter()
            .all(|e| matches!(e.status, MessageStatus::Success | MessageStatus::Fail))
    }
}

#[server(prefix = "/_fn", endpoint = "message_timeline")]
pub async fn message_timeline(app: String, msg: String) -> Result<Timeline, PortalError> {
    ssr::respond(
        async move {
            use domain::store::Page;
            let t = ssr::tenant_for(&app).await?;
            let s = ssr::services()?;
            let app = s.get_app(&t, &app).await?;
            let message = s.get_message(&t, &app.id, &msg, true).await?;
            let page = Page::new(Some(250), None, domain::types::Ordering::Ascending);
            let destinations = s
                .message_destinations(&t, &app.id, &message.id, &page)
                .await?
                .data;
            let attempts = s.attempts_with_headers(&t, &app.id, &message.id).await?;
            let sending = s.sending_since(&t, &app.id, &message.id).await?;
            let now = Utc::now();
            let endpoints = destinations
                .into_iter()
                .map(|d| EndpointTimeline {
                    attempts: attempts
                        .iter()
                        .filter(|(a, _)| a.endpoint_id == d.endpoint.id)
                        .map(|(a, h)| AttemptView {
                            attempt: a.clone(),
                            request_headers: h.clone(),
                        })
                        .collect(),
                    next_in_secs: d.next_attempt.map(|n| (n - now).num_seconds().max(0)),
                    sending_for_secs: (d.status == MessageStatus::Sending)
                        .then(|| sending.iter().find(|(ep, _)| *ep == d.endpoint.id))
                        .flatten()
                        .map(|(_, at)| (now - *at).num_seconds().max(0)),
                    endpoint_id: d.endpoint.id,
                    url: d.endpoint.url,
                    status: d.status,
                    next_attempt: d.next_attempt,
                })
                .collect();
            Ok(Timeline {
                read_only: ssr::is_read_only().await?,
                app_id: app.id,
                app_name: app.name,
                message,
                endpoints,
            })
        }
        .await,
    )
}

/// Queues a manual resend of the message to one endpoint.
#[server(prefix = "/_fn", endpoint = "resend")]
pub async fn resend(app: String, msg: String, endpoint: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            Ok(ssr::services()?.resend(&t, &app, &msg, &endpoint).await?)
        }
        .await,
    )
}
