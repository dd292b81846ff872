//! Operational webhooks (Svix's `/api/v1/operational-webhook/endpoint`): endpoints of the
//! organisation's operational application, told about the organisation's own endpoints and
//! deliveries. The events are ordinary messages of that application (see
//! `store::operational`), so they are signed, retried, logged and replayable like any other.
use super::{AppRef, Services, Tenant};
use crate::delivery::slack;
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{self, applications::AppRow, endpoints::EndpointRow, Page};
use crate::types::*;

impl Services {
    pub async fn list_operational_endpoints(
        &self,
        t: &Tenant,
        page: &Page,
    ) -> DomainResult<ListResponse<OperationalEndpointOut>> {
        let list = self.list_endpoints(t, AppRef::Operational, page).await?;
        Ok(super::messages::map_list(list, Into::into))
    }

    pub async fn create_operational_endpoint(
        &self,
        t: &Tenant,
        input: OperationalEndpointIn,
    ) -> DomainResult<OperationalEndpointOut> {
        Ok(self
            .create_endpoint(t, AppRef::Operational, input.into())
            .await?
            .into())
    }

    pub async fn get_operational_endpoint(
        &self,
        t: &Tenant,
        ep: &str,
    ) -> DomainResult<OperationalEndpointOut> {
        let row = self.get_endpoint(t, AppRef::Operational, ep).await?;
        Ok(EndpointOut::from(row).into())
    }

    /// PUT: replaces the endpoint, or creates it with `ep` as its uid.
    pub async fn upsert_operational_endpoint(
        &self,
        t: &Tenant,
        ep: &str,
        input: OperationalEndpointUpsertIn,
    ) -> DomainResult<(OperationalEndpointOut, bool)> {
        let (out, created) = self
            .upsert_endpoint(t, AppRef::Operational, ep, input.into())
            .await?;
        Ok((out.into(), created))
    }

    pub async fn delete_operational_endpoint(&self, t: &Tenant, ep: &str) -> DomainResult<()> {
        self.delete_endpoint(t, AppRef::Operational, ep).await
    }

    pub async fn operational_endpoint_secret(&self, t: &Tenant, ep: &str) -> DomainResult<EndpointSecretOut> {
        self.endpoint_secret(t, AppRef::Operational, ep).await
    }

    pub async fn rotate_operational_endpoint_secret(
        &self,
        t: &Tenant,
        ep: &str,
        input: EndpointSecretRotateIn,
    ) -> DomainResult<EndpointSecretOut> {
        self.rotate_endpoint_secret(t, AppRef::Operational, ep, input)
            .await
    }

    pub async fn operational_endpoint_headers(
        &self,
        t: &Tenant,
        ep: &str,
    ) -> DomainResult<EndpointHeadersOut> {
        self.endpoint_headers(t, AppRef::Operational, ep).await
    }

    pub async fn set_operational_endpoint_headers(
        &self,
        t: &Tenant,
        ep: &str,
        input: OperationalEndpointHeadersIn,
    ) -> DomainResult<()> {
        let input = EndpointHeadersIn {
            headers: input.headers,
            delete_headers: None,
        };
        self.set_endpoint_headers(t, AppRef::Operational, ep, input, false)
            .await
    }

    /// The portal's notification destinations, with their health.
    pub async fn notification_destinations(&self, t: &Tenant) -> DomainResult<Vec<NotificationDestination>> {
        let app = self.app(t, AppRef::Operational).await?;
        let now = chrono::Utc::now();
        let mut out = Vec::new();
        let mut page = Page::new(Some(250), None, Ordering::Ascending);
        loop {
            let list = store::endpoints::list(&self.pool, &app.id, &page).await?;
            for row in list.data {
                out.push(NotificationDestination {
                    health: super::endpoints::health_of(&row, now),
                    slack: row.payload_format == store::endpoints::FORMAT_SLACK,
                    endpoint: EndpointOut::from(row).into(),
                });
            }
            match list.iterator {
                Some(next) if !list.done => page = Page::new(Some(250), Some(next), Ordering::Ascending),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A destination from the portal: a signed webhook, or a Slack-compatible incoming
    /// webhook (`slack`), for `events` (at least one).
    pub async fn add_notification_destination(
        &self,
        t: &Tenant,
        url: &str,
        slack: bool,
        events: Vec<String>,
    ) -> DomainResult<OperationalEndpointOut> {
        if events.is_empty() {
            return Err(DomainError::validation(
                "eventTypes",
                "Choose at least one event to be told about.",
            ));
        }
        let input = EndpointIn {
            url: url.trim().to_string(),
            description: Some(
                if slack {
                    "Slack-compatible"
                } else {
                    "Signed webhook"
                }
                .into(),
            ),
            event_types: Some(events),
            payload_format: if slack {
                store::endpoints::FORMAT_SLACK
            } else {
                store::endpoints::FORMAT_STANDARD
            },
            ..Default::default()
        };
        Ok(self.create_endpoint(t, AppRef::Operational, input).await?.into())
    }

    /// Sends one destination a test notification (`hookline.test`), whatever its events.
    /// Returns the message's id.
    pub async fn send_notification_test(&self, t: &Tenant, ep: &str) -> DomainResult<String> {
        let (app, ep) = self.endpoint(t, AppRef::Operational, ep).await?;
        if ep.disabled {
            return Err(DomainError::validation(
                "endpoint",
                "This destination is disabled: enable it first.",
            ));
        }
        let id = ids::new_id(ids::MESSAGE);
        let payload =
            serde_json::json!({"type": slack::TEST_EVENT, "data": {"endpointId": ep.id}}).to_string();
        self.insert_message(&store::messages::NewMessage {
            org_id: &t.org_id,
            app_id: &app.id,
            id: &id,
            event_type: slack::TEST_EVENT,
            event_id: None,
            payload: &payload,
            content_type: None,
            channels: None,
            tags: None,
            deliver_at: None,
            retention_hours: 90 * 24,
            created_at: super::messages::now_micros(),
            only_endpoint: Some(&ep.id),
            skip_endpoints: &[],
            idempotency: None,
            traceparent: crate::trace::current_traceparent().as_deref(),
        })
        .await?;
        Ok(id)
    }

    /// The newest notifications sent (at most `limit`), with how each destination got them.
    pub async fn notifications_sent(&self, t: &Tenant, limit: i64) -> DomainResult<Vec<NotificationSent>> {
        let app = self.app(t, AppRef::Operational).await?;
        let rows = store::operational::sent(&self.pool, &app.id, limit).await?;
        let mut out: Vec<NotificationSent> = Vec::new();
        for r in rows {
            let delivery = NotificationDelivery {
                endpoint_id: r.endpoint_id,
                status: MessageStatus::try_from(r.status).unwrap_or(MessageStatus::Pending),
                attempts: r.attempt_count,
                last_status_code: r.last_status_code,
            };
            match out.last_mut() {
                Some(last) if last.msg_id == r.msg_id => last.deliveries.push(delivery),
                _ => out.push(NotificationSent {
                    summary: summary(r.payload.as_deref().unwrap_or_default()),
                    msg_id: r.msg_id,
                    event_type: r.event_type,
                    at: r.created_at,
                    deliveries: vec![delivery],
                }),
            }
        }
        Ok(out)
    }

    /// Queues operational webhooks about the organisation, after the change they report was
    /// committed. Failing to queue them is logged, never the caller's error: the change stands.
    pub(crate) async fn emit(&self, org_id: &str, events: Vec<OperationalEvent>) {
        if events.is_empty() {
            return;
        }
        let events: Vec<store::operational::OrgEvent> =
            events.into_iter().map(|e| (org_id.to_string(), e)).collect();
        let queued = async {
            let mut conn = self.pool.acquire().await?;
            store::operational::emit_all(&mut conn, &events).await
        }
        .await;
        if let Err(e) = queued {
            tracing::warn!(error = %e, n = events.len(), "queueing operational webhooks failed");
        }
    }
}

pub(crate) fn endpoint_ref(app: &AppRow, endpoint_id: &str, endpoint_uid: Option<&str>) -> EndpointRef {
    EndpointRef {
        app_id: app.id.clone(),
        app_uid: app.uid.clone(),
        endpoint_id: endpoint_id.to_string(),
        endpoint_uid: endpoint_uid.map(str::to_string),
    }
}

/// The events an endpoint's change makes: created (no `before`), or updated, and disabled or
/// enabled by hand when that changed.
pub(crate) fn endpoint_change(
    app: &AppRow,
    before: Option<&EndpointRow>,
    after: &EndpointOut,
) -> Vec<OperationalEvent> {
    let r = endpoint_ref(app, &after.id, after.uid.as_deref());
    let Some(before) = before else {
        return vec![OperationalEvent::EndpointCreated(r)];
    };
    let mut events = vec![OperationalEvent::EndpointUpdated(r.clone())];
    match (before.disabled, after.disabled) {
        (false, true) => events.push(OperationalEvent::EndpointDisabled(EndpointDisabledData {
            endpoint: r,
            fail_since: before.failing_since,
            trigger: DisabledTrigger::Manual,
        })),
        (true, false) => events.push(OperationalEvent::EndpointEnabled(r)),
        _ => {}
    }
    events
}

/// An event's Slack text for the portal: without its link markup (`<url|label>` becomes
/// `label`) or its emoji code.
fn summary(payload: &str) -> String {
    let message: serde_json::Value = serde_json::from_str(&slack::message(payload, "")).unwrap_or_default();
    let text = message["text"].as_str().unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let link = &rest[open + 1..];
        match (link.find('|'), link.find('>')) {
            (Some(bar), Some(close)) if bar < close => {
                out.push_str(&link[bar + 1..close]);
                rest = &link[close + 1..];
            }
            _ => {
                out.push('<');
                rest = link;
            }
        }
    }
    out.push_str(rest);
    // and without the leading emoji code (":red_circle: "), which only Slack draws
    match out.strip_prefix(':').and_then(|r| r.split_once(": ")) {
        Some((code, text)) if !code.contains(' ') => text.to_string(),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_summary_keeps_the_labels_of_links() {
        let payload = serde_json::json!({"type": "endpoint.enabled", "data": {
            "appId": "app_1", "appUid": "acme", "endpointId": "ep_1", "endpointUid": null}});
        assert_eq!(
            super::summary(&payload.to_string()),
            "Endpoint ep_1 of acme (app_1) was enabled."
        );
    }
}
