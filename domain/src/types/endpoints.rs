//! Endpoints, their secrets, headers, stats and recovery.
use super::*;

// ---------------------------------------------------------------- endpoints

/// Body of `POST .../endpoint` (and, without `secret`, of PUT).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIn {
    pub url: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    /// `filterTypes` on the wire, as the Svix server and SDKs name it; `eventTypes` (the
    /// published spec's name) is accepted too.
    #[serde(default, rename = "filterTypes", alias = "eventTypes")]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub throttle_rate: Option<i64>,
    /// The deprecated name of `throttleRate`; `throttleRate` wins when both are sent.
    #[serde(default)]
    pub rate_limit: Option<i64>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub secret: Option<String>,
    /// Custom headers sent with every delivery (newer SDKs allow them at creation).
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// Hookline's payload filter: a CEL expression over `payload`, `eventType`, `channels`
    /// and `tags` that a message must satisfy to be sent here (`domain::filter`).
    #[serde(default)]
    pub filter: Option<String>,
    /// Not on the wire: the portal makes Slack-compatible notification destinations with 1
    /// (see `store::endpoints::FORMAT_SLACK`).
    #[serde(skip)]
    pub payload_format: i16,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub uid: Option<Option<String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(
        default,
        deserialize_with = "double_option",
        rename = "filterTypes",
        alias = "eventTypes"
    )]
    pub event_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub channels: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub throttle_rate: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub rate_limit: Option<Option<i64>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub secret: Option<String>,
    /// The payload filter; null removes it.
    #[serde(default, deserialize_with = "double_option")]
    pub filter: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointOut {
    pub id: String,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub version: i64,
    /// Written under both names: the 1.x SDKs (JS) read `filterTypes`, the 2.x Python and Rust
    /// SDKs read `eventTypes`. Read from either.
    #[serde(flatten, with = "filter_types_both")]
    pub event_types: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub throttle_rate: Option<i64>,
    pub rate_limit: Option<i64>,
    pub disabled: bool,
    pub metadata: Metadata,
    /// The payload filter, only when there is one (Svix has no such field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointSecretOut {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSecretRotateIn {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHeadersIn {
    pub headers: Map<String, Value>,
    /// PATCH only: header names to remove.
    #[serde(default)]
    pub delete_headers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointHeadersOut {
    pub headers: Map<String, Value>,
    pub sensitive: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct EndpointStats {
    pub success: i64,
    pub pending: i64,
    pub sending: i64,
    pub fail: i64,
    pub canceled: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct EventExampleIn {
    pub event_type: String,
    /// Send this payload instead of the event type's example.
    #[serde(default)]
    pub payload: Option<Box<RawValue>>,
    /// Which of the schema's `examples` to send (default the first).
    #[serde(default)]
    pub example_index: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    #[serde(deserialize_with = "de_datetime")]
    pub since: DateTime<Utc>,
    #[serde(default, deserialize_with = "de_opt_datetime")]
    pub until: Option<DateTime<Utc>>,
}

/// What `recover` answers.
pub type RecoverOut = TaskStartedOut;

/// An endpoint's filter under both of its wire names (see `EndpointOut::event_types`).
mod filter_types_both {
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("filterTypes", v)?;
        m.serialize_entry("eventTypes", v)?;
        m.end()
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Either {
        #[serde(default)]
        filter_types: Option<Vec<String>>,
        #[serde(default)]
        event_types: Option<Vec<String>>,
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let e = Either::deserialize(d)?;
        Ok(e.filter_types.or(e.event_types))
    }
}

/// A payload filter tried on a message (the portal's *Try it*): whether it passes, why not
/// when evaluating failed, and the payload tried.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FilterTrial {
    pub passes: bool,
    pub reason: Option<String>,
    pub payload: String,
}
