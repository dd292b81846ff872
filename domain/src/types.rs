//! Wire types of the REST API, named as Svix names them (`FooIn`, `FooPatch`, `FooOut`), with
//! camelCase JSON. These are shared by the server, the worker and the portal.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub type Metadata = Map<String, Value>;

/// Distinguishes "field absent" (`None`) from "field set to null" (`Some(None)`) in PATCH bodies.
fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub iterator: Option<String>,
    pub prev_iterator: Option<String>,
    pub done: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    #[default]
    Ascending,
    Descending,
}

/// `MessageStatus`: 0 success, 1 pending, 2 fail, 3 sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(try_from = "i16", into = "i16")]
pub enum MessageStatus {
    Success,
    Pending,
    Fail,
    Sending,
}

impl MessageStatus {
    pub fn text(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Fail => "fail",
            Self::Sending => "sending",
        }
    }
}

impl From<MessageStatus> for i16 {
    fn from(s: MessageStatus) -> i16 {
        match s {
            MessageStatus::Success => 0,
            MessageStatus::Pending => 1,
            MessageStatus::Fail => 2,
            MessageStatus::Sending => 3,
        }
    }
}

impl TryFrom<i16> for MessageStatus {
    type Error = String;
    fn try_from(v: i16) -> Result<Self, String> {
        Ok(match v {
            0 => Self::Success,
            1 => Self::Pending,
            2 => Self::Fail,
            3 => Self::Sending,
            other => return Err(format!("unknown message status {other}; expected 0-3")),
        })
    }
}

/// `MessageAttemptTriggerType`: 0 scheduled, 1 manual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i16", into = "i16")]
pub enum TriggerType {
    Scheduled,
    Manual,
}

impl From<TriggerType> for i16 {
    fn from(t: TriggerType) -> i16 {
        match t {
            TriggerType::Scheduled => 0,
            TriggerType::Manual => 1,
        }
    }
}

impl TryFrom<i16> for TriggerType {
    type Error = String;
    fn try_from(v: i16) -> Result<Self, String> {
        match v {
            0 => Ok(Self::Scheduled),
            1 => Ok(Self::Manual),
            other => Err(format!("unknown trigger type {other}; expected 0 or 1")),
        }
    }
}

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub throttle_rate: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub uid: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub throttle_rate: Option<Option<i64>>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationOut {
    pub id: String,
    pub uid: Option<String>,
    pub name: String,
    pub throttle_rate: Option<i64>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- endpoints

/// Body of `POST .../endpoint` (and, without `secret`, of PUT).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIn {
    pub url: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub throttle_rate: Option<i64>,
    /// Newer SDKs name the throttle `rateLimit`; both are accepted.
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
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
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
    #[serde(default, deserialize_with = "double_option")]
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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointOut {
    pub id: String,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub version: i64,
    pub event_types: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub throttle_rate: Option<i64>,
    pub rate_limit: Option<i64>,
    pub disabled: bool,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointSecretOut {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSecretRotateIn {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[serde(rename_all = "camelCase")]
pub struct EventExampleIn {
    pub event_type: String,
    /// Send this payload instead of the event type's example.
    #[serde(default)]
    pub payload: Option<Box<RawValue>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoverIn {
    #[serde(deserialize_with = "de_datetime")]
    pub since: DateTime<Utc>,
    #[serde(default, deserialize_with = "de_opt_datetime")]
    pub until: Option<DateTime<Utc>>,
}

/// Parses RFC 3339, and also a timestamp without an offset (taken as UTC): the Python SDK
/// sends naive datetimes that way.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    let s = s.replace(' ', "T");
    chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|n| n.and_utc())
}

pub fn de_datetime<'de, D: Deserializer<'de>>(de: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(de)?;
    parse_datetime(&s).ok_or_else(|| {
        serde::de::Error::custom(format!("'{s}' is not a date-time such as 2024-01-31T12:00:00Z"))
    })
}

pub fn de_opt_datetime<'de, D: Deserializer<'de>>(de: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(de)? {
        None => Ok(None),
        Some(s) => parse_datetime(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("'{s}' is not a date-time such as 2024-01-31T12:00:00Z"))
        }),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecoverOut {
    pub id: String,
    pub status: String,
    pub task: String,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- messages

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageIn {
    pub event_type: String,
    /// Kept byte-for-byte as sent, so that what is signed is what the client posted.
    pub payload: Box<RawValue>,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub payload_retention_period: Option<i64>,
    /// Create the application on the fly when it does not exist (needs a `uid` path).
    #[serde(default)]
    pub application: Option<ApplicationIn>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub channels: Option<Vec<String>>,
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
    /// Hookline extension: the message, when asked for `with_msg`.
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

// ---------------------------------------------------------------- event types

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeIn {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub schemas: Option<Value>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default)]
    pub feature_flag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeUpdate {
    pub description: String,
    #[serde(default)]
    pub schemas: Option<Value>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default)]
    pub feature_flag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EventTypePatch {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub schemas: Option<Option<Value>>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub feature_flag: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeOut {
    pub name: String,
    pub description: String,
    pub schemas: Option<Value>,
    pub archived: bool,
    pub deprecated: bool,
    pub feature_flag: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- portal access

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppPortalAccessIn {
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    /// Token lifetime in seconds (Hookline extension; default one hour).
    #[serde(default)]
    pub expiry: Option<i64>,
    /// A portal that can look but not change anything (as in Svix's current API).
    #[serde(default)]
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppPortalAccessOut {
    pub url: String,
    pub token: String,
}

// ---------------------------------------------------------------- portal

/// An API key as the portal lists it (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

// ------------------------------------------------------------------ portal views (not in the API)

/// The circuit breaker of an endpoint, as the portal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerState {
    /// Delivering normally.
    Closed,
    /// Paused after consecutive failures, until the given time.
    Open(DateTime<Utc>),
    /// The pause is over: the next attempt is a single probe that decides.
    Probing,
}

/// How an endpoint is doing: failures in a row, since when, the breaker, and why it was
/// disabled if it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointHealth {
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub breaker: BreakerState,
}

impl BreakerState {
    /// From the stored pause end: open while it lies ahead, probing once it has passed.
    pub fn at(open_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match open_until {
            Some(u) if u > now => Self::Open(u),
            Some(_) => Self::Probing,
            None => Self::Closed,
        }
    }
}

/// The window a chart covers, split into equal buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartRange {
    #[default]
    Hour,
    Day,
    Week,
}

impl ChartRange {
    pub const ALL: [ChartRange; 3] = [ChartRange::Hour, ChartRange::Day, ChartRange::Week];

    /// (bucket length in seconds, number of buckets)
    pub fn buckets(self) -> (i64, i64) {
        match self {
            Self::Hour => (300, 12),
            Self::Day => (3_600, 24),
            Self::Week => (6 * 3_600, 28),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "Last hour",
            Self::Day => "Last day",
            Self::Week => "Last week",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "day" => Self::Day,
            "week" => Self::Week,
            _ => Self::Hour,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    /// The first bucket's start for a window ending with the bucket that holds `now`, so that
    /// buckets fall on round times.
    pub fn window_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let (len, n) = self.buckets();
        let end = (now.timestamp().div_euclid(len) + 1) * len;
        DateTime::from_timestamp(end - n * len, 0).unwrap_or(now)
    }
}

/// One bucket of an endpoint's attempts: how many, how many succeeded, and latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ChartBucket {
    pub start: DateTime<Utc>,
    pub attempts: i64,
    pub succeeded: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[cfg(test)]
mod portal_view_tests {
    use super::*;

    #[test]
    fn chart_windows_end_with_the_current_bucket_on_round_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:17:42Z")
            .unwrap()
            .to_utc();
        let start = ChartRange::Hour.window_start(now);
        assert_eq!(start.to_rfc3339(), "2026-11-28T09:20:00+00:00");
        assert_eq!(
            ChartRange::Day.window_start(now).to_rfc3339(),
            "2026-11-27T11:00:00+00:00"
        );
        let (len, n) = ChartRange::Week.buckets();
        let w = ChartRange::Week.window_start(now);
        assert!(w + chrono::Duration::seconds(len * n) > now && w <= now - chrono::Duration::days(6));
    }

    #[test]
    fn the_breaker_is_open_until_its_pause_ends_then_probes() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(30);
        assert_eq!(BreakerState::at(None, now), BreakerState::Closed);
        assert_eq!(BreakerState::at(Some(later), now), BreakerState::Open(later));
        assert_eq!(BreakerState::at(Some(now), later), BreakerState::Probing);
    }
}

/// A message with how its deliveries stand, for the portal's message lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageOutcome {
    pub message: MessageOut,
    pub succeeded: i64,
    pub pending: i64,
    pub failed: i64,
}
