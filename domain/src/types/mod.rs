//! Wire types of the REST API, named as Svix names them (`FooIn`, `FooPatch`, `FooOut`), with
//! camelCase JSON. These are shared by the server, the worker and the portal.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

mod applications;
mod audit;
mod endpoints;
mod event_types;
mod inboxes;
mod members;
mod messages;
mod operational;
mod portal;
mod tasks;
mod views;

pub use applications::*;
pub use audit::*;
pub use endpoints::*;
pub use event_types::*;
pub use inboxes::*;
pub use members::*;
pub use messages::*;
pub use operational::*;
pub use portal::*;
pub use tasks::*;
pub use views::*;

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
