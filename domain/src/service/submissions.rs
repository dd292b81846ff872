//! Portal forms submitted twice (a double click, a reload that posts again) make one object:
//! each rendered form carries a random submission token, and the work it starts is recorded
//! under that token, as an `Idempotency-Key` is for the API. A second submission waits for
//! the first and gets its result.
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::store::idempotency::{self, Claim};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// How long a submission's claim is held while its work runs.
const LOCK_SECS: f64 = 30.0;
/// How long a second submission waits for the first to finish.
const WAIT: Duration = Duration::from_secs(10);

/// The longest submission token accepted (they are made by the portal: 22 characters).
const MAX_TOKEN: usize = 64;

impl Services {
    /// Runs `work` once per `submission` token of the form `what` (the same token and form
    /// again get the first run's result); without a token (an old page), runs it.
    pub async fn once_per_submission<T, F, Fut>(
        &self,
        t: &Tenant,
        what: &str,
        submission: Option<&str>,
        work: F,
    ) -> DomainResult<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = DomainResult<T>>,
    {
        let Some(token) = submission.filter(|s| !s.is_empty()) else {
            return work().await;
        };
        if token.len() > MAX_TOKEN
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(DomainError::BadRequest {
                code: "invalid_submission",
                detail: "This form is out of date. Reload the page and try again.".into(),
            });
        }
        let key = format!("portal-form:{what}:{token}");
        let hash = crate::crypto::sha256(what);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match idempotency::claim(&self.pool, &t.org_id, &key, &hash, LOCK_SECS).await? {
                Claim::Acquired => break,
                Claim::Replay { body, .. } => {
                    return serde_json::from_slice(&body)
                        .map_err(|e| DomainError::Internal(format!("stored form result: {e}")));
                }
                Claim::InFlight { .. } if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Claim::InFlight { .. } => {
                    return Err(DomainError::Conflict(
                        "This form is already being submitted; wait a moment and reload the page.".into(),
                    ))
                }
            }
        }
        match work().await {
            Ok(v) => {
                let body = serde_json::to_vec(&v).map_err(|e| DomainError::Internal(e.to_string()))?;
                idempotency::complete(&self.pool, &t.org_id, &key, 200, &body).await?;
                Ok(v)
            }
            Err(e) => {
                // the form may be corrected and sent again with the same token
                let _ = idempotency::release(&self.pool, &t.org_id, &key).await;
                Err(e)
            }
        }
    }
}
