//! Server functions for the Notifications page: where Hookline tells the organisation about
//! its endpoints and deliveries (operational webhooks, or a Slack-compatible channel), a test
//! to each, and what was sent. A developer's; not in the consumer portal.
use crate::error::PortalError;
use domain::types::{NotificationDestination, NotificationSent, OperationalEndpointOut};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// How many notifications the page lists.
pub const HISTORY: i64 = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationsData {
    pub destinations: Vec<NotificationDestination>,
    pub sent: Vec<NotificationSent>,
}

#[server(prefix = "/_fn", endpoint = "notifications_view")]
pub async fn notifications_view() -> Result<NotificationsData, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            Ok(NotificationsData {
                destinations: s.notification_destinations(&t).await?,
                sent: s.notifications_sent(&t, HISTORY).await?,
            })
        }
        .await,
    )
}

/// A new destination: `kind` is `webhook` (signed JSON) or `slack`; `events` the ticked ones.
#[server(prefix = "/_fn", endpoint = "add_destination")]
pub async fn add_destination(
    kind: String,
    url: String,
    events: Option<Vec<String>>,
    submission: Option<String>,
) -> Result<OperationalEndpointOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let slack = match kind.as_str() {
                "slack" => true,
                "webhook" => false,
                _ => {
                    return Err(PortalError::form(
                        "Choose a signed webhook or a Slack-compatible URL.",
                    ))
                }
            };
            let events = events.unwrap_or_default();
            s.once_per_submission(&t, "add_destination", submission.as_deref(), || {
                s.add_notification_destination(&t, &url, slack, events)
            })
            .await
            .map_err(|e| {
                let mut err = PortalError::from(e);
                if let PortalError::Invalid(ps) = &mut err {
                    for p in ps {
                        if p.field.as_deref() == Some("eventTypes") {
                            p.field = Some("events".into());
                        }
                    }
                }
                err
            })
        }
        .await,
    )
}

/// Sends the destination a test notification; returns its message id.
#[server(prefix = "/_fn", endpoint = "test_destination")]
pub async fn test_destination(endpoint: String) -> Result<String, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.send_notification_test(&t, &endpoint).await?)
        }
        .await,
    )
}

/// Enables or disables a destination.
#[server(prefix = "/_fn", endpoint = "set_destination_enabled")]
pub async fn set_destination_enabled(endpoint: String, enabled: bool) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let cur = s.get_operational_endpoint(&t, &endpoint).await?;
            let input = domain::types::OperationalEndpointUpsertIn {
                url: cur.url,
                description: Some(cur.description),
                throttle_rate: cur.throttle_rate,
                uid: cur.uid,
                disabled: Some(!enabled),
                event_types: cur.event_types,
                metadata: Some(cur.metadata),
            };
            s.upsert_operational_endpoint(&t, &cur.id, input).await?;
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "delete_destination")]
pub async fn delete_destination(endpoint: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            ssr::services()?
                .delete_operational_endpoint(&t, &endpoint)
                .await?;
            Ok(())
        }
        .await,
    )
}

/// A signed destination's secret, for verifying what it receives.
#[server(prefix = "/_fn", endpoint = "destination_secret")]
pub async fn destination_secret(endpoint: String) -> Result<String, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?
                .operational_endpoint_secret(&t, &endpoint)
                .await?
                .key)
        }
        .await,
    )
}
