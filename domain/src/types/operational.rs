//! Operational webhooks: Svix's `/api/v1/operational-webhook/endpoint` shapes, and the events
//! Hookline sends to those endpoints about the organisation's own endpoints and deliveries.
use super::*;

/// Every event an operational-webhook endpoint can receive (its `eventTypes` filter names
/// some of them; none means all).
pub const OPERATIONAL_EVENT_TYPES: &[&str] = &[
    "endpoint.created",
    "endpoint.updated",
    "endpoint.deleted",
    "endpoint.disabled",
    "endpoint.enabled",
    "message.attempt.failing",
    "message.attempt.exhausted",
    "message.attempt.recovered",
    "background_task.finished",
];

/// Body of `POST /api/v1/operational-webhook/endpoint`. The 1.x SDKs' names (`filterTypes`,
/// `rateLimit`) are accepted too.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct OperationalEndpointIn {
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, alias = "rateLimit")]
    pub throttle_rate: Option<i64>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, alias = "filterTypes")]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
}

/// Body of `PUT /api/v1/operational-webhook/endpoint/{id}`: as [`OperationalEndpointIn`]
/// without the secret and headers.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct OperationalEndpointUpsertIn {
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, alias = "rateLimit")]
    pub throttle_rate: Option<i64>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, alias = "filterTypes")]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperationalEndpointOut {
    pub id: String,
    pub url: String,
    pub description: String,
    pub throttle_rate: Option<i64>,
    pub uid: Option<String>,
    pub disabled: bool,
    pub event_types: Option<Vec<String>>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `PUT .../headers`: the whole set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationalEndpointHeadersIn {
    pub headers: Map<String, Value>,
}

impl From<OperationalEndpointIn> for EndpointIn {
    fn from(i: OperationalEndpointIn) -> Self {
        EndpointIn {
            url: i.url,
            uid: i.uid,
            description: i.description,
            event_types: i.event_types,
            throttle_rate: i.throttle_rate,
            disabled: i.disabled,
            metadata: i.metadata,
            secret: i.secret,
            headers: i.headers,
            ..Default::default()
        }
    }
}

impl From<OperationalEndpointUpsertIn> for EndpointIn {
    fn from(i: OperationalEndpointUpsertIn) -> Self {
        OperationalEndpointIn {
            url: i.url,
            description: i.description,
            throttle_rate: i.throttle_rate,
            uid: i.uid,
            disabled: i.disabled,
            event_types: i.event_types,
            metadata: i.metadata,
            ..Default::default()
        }
        .into()
    }
}

impl From<EndpointOut> for OperationalEndpointOut {
    fn from(e: EndpointOut) -> Self {
        OperationalEndpointOut {
            id: e.id,
            url: e.url,
            description: e.description,
            throttle_rate: e.throttle_rate,
            uid: e.uid,
            disabled: e.disabled,
            event_types: e.event_types,
            metadata: e.metadata,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// Which endpoint an `endpoint.*` event is about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointRef {
    pub app_id: String,
    pub app_uid: Option<String>,
    pub endpoint_id: String,
    pub endpoint_uid: Option<String>,
}

/// The attempt a `message.attempt.*` event reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastAttempt {
    pub id: String,
    /// 0 when the endpoint gave no answer (a timeout, a refused connection).
    pub response_status_code: i32,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AttemptEventData {
    pub app_id: String,
    pub app_uid: Option<String>,
    pub msg_id: String,
    pub msg_event_id: Option<String>,
    pub endpoint_id: String,
    pub last_attempt: LastAttempt,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DisabledTrigger {
    Manual,
    Automatic,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDisabledData {
    #[serde(flatten)]
    pub endpoint: EndpointRef,
    pub fail_since: Option<DateTime<Utc>>,
    pub trigger: DisabledTrigger,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinishedData {
    pub task_id: String,
    pub task: String,
    pub status: BackgroundTaskStatus,
    pub data: Value,
}

/// An operational webhook's payload, as Svix sends it: `{"type": ..., "data": {...}}`; the
/// message's event type is the same `type`, so an endpoint's `eventTypes` filter applies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", content = "data")]
pub enum OperationalEvent {
    #[serde(rename = "endpoint.created")]
    EndpointCreated(EndpointRef),
    #[serde(rename = "endpoint.updated")]
    EndpointUpdated(EndpointRef),
    #[serde(rename = "endpoint.deleted")]
    EndpointDeleted(EndpointRef),
    #[serde(rename = "endpoint.disabled")]
    EndpointDisabled(EndpointDisabledData),
    #[serde(rename = "endpoint.enabled")]
    EndpointEnabled(EndpointRef),
    #[serde(rename = "message.attempt.failing")]
    AttemptFailing(AttemptEventData),
    #[serde(rename = "message.attempt.exhausted")]
    AttemptExhausted(AttemptEventData),
    #[serde(rename = "message.attempt.recovered")]
    AttemptRecovered(AttemptEventData),
    #[serde(rename = "background_task.finished")]
    TaskFinished(TaskFinishedData),
}

impl OperationalEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::EndpointCreated(_) => "endpoint.created",
            Self::EndpointUpdated(_) => "endpoint.updated",
            Self::EndpointDeleted(_) => "endpoint.deleted",
            Self::EndpointDisabled(_) => "endpoint.disabled",
            Self::EndpointEnabled(_) => "endpoint.enabled",
            Self::AttemptFailing(_) => "message.attempt.failing",
            Self::AttemptExhausted(_) => "message.attempt.exhausted",
            Self::AttemptRecovered(_) => "message.attempt.recovered",
            Self::TaskFinished(_) => "background_task.finished",
        }
    }

    /// The application the event is about, if any (events about the operational application's
    /// own endpoints and deliveries are not sent: they would report on themselves).
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Self::EndpointCreated(e)
            | Self::EndpointUpdated(e)
            | Self::EndpointDeleted(e)
            | Self::EndpointEnabled(e) => Some(&e.app_id),
            Self::EndpointDisabled(d) => Some(&d.endpoint.app_id),
            Self::AttemptFailing(a) | Self::AttemptExhausted(a) | Self::AttemptRecovered(a) => {
                Some(&a.app_id)
            }
            Self::TaskFinished(_) => None,
        }
    }
}

/// What a new notification destination in the portal receives unless told otherwise: the
/// events that need a person.
pub const DEFAULT_NOTIFIED: &[&str] = &["endpoint.disabled", "message.attempt.exhausted"];

/// A destination on the portal's Notifications page: an operational-webhook endpoint that gets
/// signed JSON, or a Slack-compatible incoming webhook that gets a readable message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationDestination {
    pub endpoint: OperationalEndpointOut,
    pub slack: bool,
    pub health: EndpointHealth,
}

/// How one destination got one notification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationDelivery {
    pub endpoint_id: String,
    pub status: MessageStatus,
    pub attempts: i32,
    /// The last attempt's HTTP status (0: no answer); none yet.
    pub last_status_code: Option<i32>,
}

/// A notification sent (an operational event), newest first on the page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationSent {
    pub msg_id: String,
    pub event_type: String,
    /// The event in one line, as a Slack destination shows it (without the link markup).
    pub summary: String,
    pub at: DateTime<Utc>,
    pub deliveries: Vec<NotificationDelivery>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_written_as_svix_writes_them() {
        let e = OperationalEvent::EndpointDisabled(EndpointDisabledData {
            endpoint: EndpointRef {
                app_id: "app_1".into(),
                app_uid: None,
                endpoint_id: "ep_1".into(),
                endpoint_uid: Some("mine".into()),
            },
            fail_since: None,
            trigger: DisabledTrigger::Manual,
        });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"type": "endpoint.disabled", "data": {
                "appId": "app_1", "appUid": null, "endpointId": "ep_1", "endpointUid": "mine",
                "failSince": null, "trigger": "manual"}})
        );
        assert_eq!(e.event_type(), "endpoint.disabled");
        for t in OPERATIONAL_EVENT_TYPES {
            assert!(
                t.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{t}"
            );
        }
    }
}
