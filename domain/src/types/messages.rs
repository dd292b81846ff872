//! Messages and attempts.
use super::*;

// ---------------------------------------------------------------- messages

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct MessageIn {
    pub event_type: String,
    /// Kept byte-for-byte as sent, so that what is signed is what the client posted. `data`
    /// is accepted as its other name, as the Svix server does.
    #[serde(alias = "data")]
    pub payload: Box<RawValue>,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub payload_retention_period: Option<i64>,
    /// Retention in hours; takes precedence over `payloadRetentionPeriod` (days), as in Svix.
    #[serde(default)]
    pub payload_retention_hours: Option<i64>,
    /// Labels to find the message by (`tag=` on the message and attempt lists).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Deliver no earlier than this (at most 24 hours ahead); a past time means now.
    #[serde(default, deserialize_with = "de_opt_datetime")]
    pub deliver_at: Option<DateTime<Utc>>,
    /// What the SDKs' raw-payload helpers send (`rawPayload`, a `content-type` header).
    /// Other transformation parameters are refused by name: Hookline runs no transformations.
    #[serde(default)]
    pub transformations_params: Option<TransformationsParams>,
    /// Create the application on the fly when it does not exist (needs a `uid` path).
    #[serde(default)]
    pub application: Option<ApplicationIn>,
}

/// `transformationsParams` as the SDKs' `message_in_raw` / `new_raw_payload` fill it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct TransformationsParams {
    /// Delivered byte for byte instead of `payload` (which must then be `{}`).
    #[serde(default)]
    pub raw_payload: Option<String>,
    /// Only `content-type` may be set: the Content-Type the webhook is sent with.
    #[serde(default)]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// When the message was scheduled for (`deliverAt` at creation), if it was.
    #[serde(default)]
    pub deliver_at: Option<DateTime<Utc>>,
    pub payload: Box<RawValue>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageAttemptOut {
    pub id: String,
    pub msg_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub response: String,
    pub response_status_code: i64,
    pub response_duration_ms: i64,
    pub status: MessageStatus,
    pub status_text: String,
    pub trigger_type: TriggerType,
    pub timestamp: DateTime<Utc>,
    /// Hookline extension: why the attempt failed (`E_TIMEOUT`, `E_SSRF`, ...).
    pub error_code: Option<String>,
    /// The message, when asked for with `with_msg=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<MessageOut>,
}

/// A message as seen from one endpoint (`GET .../endpoint/{id}/msg`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointMessageOut {
    pub id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub channels: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub deliver_at: Option<DateTime<Utc>>,
    pub payload: Box<RawValue>,
    pub timestamp: DateTime<Utc>,
    pub status: MessageStatus,
    pub status_text: String,
    pub next_attempt: Option<DateTime<Utc>>,
}

/// An endpoint as seen from one message (`GET .../msg/{id}/endpoint`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEndpointOut {
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    pub status: MessageStatus,
    pub status_text: String,
    pub next_attempt: Option<DateTime<Utc>>,
}
