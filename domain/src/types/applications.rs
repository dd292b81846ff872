//! Applications.
use super::*;

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    /// Messages per second for the whole application.
    #[serde(default)]
    pub throttle_rate: Option<i64>,
    /// The deprecated name of `throttleRate`; `throttleRate` wins when both are sent.
    #[serde(default)]
    pub rate_limit: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub uid: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub throttle_rate: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub rate_limit: Option<Option<i64>>,
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
    /// The same value as `throttleRate`, under its deprecated name.
    pub rate_limit: Option<i64>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
