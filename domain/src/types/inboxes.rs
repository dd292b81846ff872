//! Test inboxes, as the portal and the API show them (a Hookline addition; not in Svix).
use super::*;

/// A URL served by Hookline that records what is sent to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxOut {
    pub id: String,
    /// POST here (or point an endpoint here) and the request is recorded.
    pub url: String,
    /// What the inbox answers with.
    pub reply_status: u16,
    /// How long it waits before answering, in milliseconds.
    pub reply_delay_ms: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the inbox is told to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboxReplyIn {
    pub reply_status: u16,
    #[serde(default)]
    pub reply_delay_ms: u32,
}

/// Whether a recorded request's `webhook-signature` matches a secret of the endpoint that
/// points at the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignatureCheck {
    /// Signed with one of the endpoint's secrets (current, or one in its rotation's grace).
    Valid,
    /// Signed, but with no secret of any endpoint pointing here.
    Invalid,
    /// No Standard Webhooks headers.
    Unsigned,
    /// The body was too long to keep whole, so the signature cannot be checked.
    Truncated,
}

/// One request an inbox received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxRequestOut {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub body_truncated: bool,
    /// The status the inbox answered with.
    pub answered: u16,
    /// The endpoint whose delivery this was, when Hookline sent it.
    pub endpoint_id: Option<String>,
    /// The message it carried (`webhook-id`).
    pub msg_id: Option<String>,
    pub signature: SignatureCheck,
}
