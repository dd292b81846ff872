//! App-portal access and the portal's API keys.
use super::*;

// ---------------------------------------------------------------- portal access

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct AppPortalAccessIn {
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    /// Event types carrying a feature flag are shown only to portals given that flag.
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    /// Svix's finer permissions; Hookline's portal is either full or read-only, so only the
    /// sets that map onto one of those are accepted (see `portal_mode`).
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    /// Groups tokens so that `auth/app/{app_id}/expire-all` can end only this session's.
    #[serde(default)]
    pub session_id: Option<String>,
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
    /// The one application the key reaches (none: the whole organisation).
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    /// A read-only key may only read: every change answers 403.
    pub read_only: bool,
}

/// Body of `POST /api/v1/auth/app/{app_id}/expire-all`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationTokenExpireIn {
    /// Seconds until the tokens stop working (0 or absent: now; at most one day).
    #[serde(default)]
    pub expiry: Option<i64>,
    /// Only tokens made with one of these `sessionId`s.
    #[serde(default)]
    pub session_ids: Option<Vec<String>>,
}

/// `POST /api/v1/auth/dashboard-access/{app_id}` (deprecated in Svix, still in the SDKs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DashboardAccessOut {
    pub url: String,
    pub token: String,
}
