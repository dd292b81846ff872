//! The audit log: who changed what, and when.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every action the audit log records: its code (in the API and the `action` filter) and how
/// the portal names it.
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("application.created", "Application created"),
    ("application.updated", "Application edited"),
    ("application.deleted", "Application deleted"),
    ("endpoint.created", "Endpoint created"),
    ("endpoint.updated", "Endpoint edited"),
    ("endpoint.enabled", "Endpoint enabled"),
    ("endpoint.disabled", "Endpoint disabled"),
    ("endpoint.deleted", "Endpoint deleted"),
    ("endpoint.secret_revealed", "Signing secret revealed"),
    ("endpoint.secret_rotated", "Signing secret rotated"),
    ("endpoint.recovered", "Failed deliveries recovered"),
    ("endpoint.replayed", "Missing messages replayed"),
    ("message.resent", "Message resent"),
    ("api_key.created", "API key created"),
    ("api_key.revoked", "API key revoked"),
    ("member.invited", "Member invited"),
    ("member.invite_withdrawn", "Invitation withdrawn"),
    ("member.joined", "Member joined"),
    ("member.role_changed", "Member's role changed"),
    ("member.removed", "Member removed"),
    ("member.left", "Member left"),
    ("user.password_changed", "Password changed"),
    ("user.password_reset", "Password reset by link"),
];

/// The portal's name for an action code (the code itself when unknown).
pub fn audit_action_label(code: &str) -> &str {
    AUDIT_ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
        .unwrap_or(code)
}

/// Who acted: a person logged in to the portal, an API key, a consumer-portal link, or the
/// operator's command line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditActorOut {
    /// `user`, `api_key`, `portal_link` or `operator`.
    pub kind: String,
    /// The user's email, the key's shown prefix, the link's application id, or `cli`.
    pub name: String,
}

/// One entry of `GET /api/v1/audit-log`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryOut {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    pub actor: AuditActorOut,
    pub action: String,
    /// The id of what was acted on (endpoint, message, key), when there is one.
    pub target: Option<String>,
    pub app_id: Option<String>,
    /// What changed, never a secret: changed field names, a task's window and count.
    pub details: serde_json::Value,
}
