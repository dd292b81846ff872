//! Members of an organisation, their roles, and invitations.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a member may do. Ordered: each role may do everything the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything; changes nothing.
    #[default]
    Viewer,
    /// Applications, endpoints, event types, messages, replays, inboxes, notifications; not
    /// members or API keys.
    Developer,
    /// Everything, members and API keys too.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// How the portal names it, with what it may do.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Developer => "Developer",
            Role::Viewer => "Viewer",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Admin => "everything, members and API keys too",
            Role::Developer => {
                "applications, endpoints, event types, messages and replays; not members or API keys"
            }
            Role::Viewer => "sees everything, changes nothing",
        }
    }

    /// Whether this role may make changes (any but a viewer).
    pub fn can_change(self) -> bool {
        self >= Role::Developer
    }
}

/// A member as the members page lists them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// An invitation not yet used (the link itself is shown once, when made).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InviteOut {
    pub id: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What an invitation link offers, for its page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InviteInfo {
    pub org_name: String,
    pub role: Role,
    pub invited_by: String,
}
