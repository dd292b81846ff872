//! Background tasks: what `recover` and `replay-missing` start, stored with their real
//! status and result.
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackgroundTaskStatus {
    Running,
    Finished,
    Failed,
}

impl BackgroundTaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "finished" => Some(Self::Finished),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The task kinds Hookline runs, named as Svix names them.
pub const TASK_RECOVER: &str = "endpoint.recover";
pub const TASK_REPLAY: &str = "endpoint.replay";
pub const TASK_KINDS: [&str; 2] = [TASK_RECOVER, TASK_REPLAY];
/// Every kind the SDKs name (Svix Cloud runs more): listing by one Hookline never runs finds
/// nothing, rather than failing.
pub const SVIX_TASK_KINDS: [&str; 8] = [
    TASK_REPLAY,
    TASK_RECOVER,
    "application.stats",
    "message.broadcast",
    "sdk.generate",
    "event-type.aggregate",
    "application.purge_content",
    "endpoint.bulk-replay",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundTaskOut {
    pub id: String,
    pub status: BackgroundTaskStatus,
    pub task: String,
    /// What the task did, such as `{"deliveriesQueued": 3}`.
    pub data: Value,
    pub updated_at: DateTime<Utc>,
}

/// What `recover` and `replay-missing` answer (Svix's `RecoverOut` / `ReplayOut`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskStartedOut {
    pub id: String,
    pub status: BackgroundTaskStatus,
    pub task: String,
    pub updated_at: DateTime<Utc>,
}

impl From<BackgroundTaskOut> for TaskStartedOut {
    fn from(t: BackgroundTaskOut) -> Self {
        Self {
            id: t.id,
            status: t.status,
            task: t.task,
            updated_at: t.updated_at,
        }
    }
}

/// Body of `POST .../endpoint/{id}/replay-missing`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    #[serde(deserialize_with = "de_datetime")]
    pub since: DateTime<Utc>,
    #[serde(default, deserialize_with = "de_opt_datetime")]
    pub until: Option<DateTime<Utc>>,
}
