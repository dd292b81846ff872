//! The delivery engine: workers that pull due deliveries from PostgreSQL, sign and send them,
//! and record every attempt.
//!
//! The path of one delivery: *claim* (a short statement with `FOR UPDATE SKIP LOCKED` that
//! leases a batch and commits), *send* (outside any transaction, bounded per worker and per
//! endpoint), *record* (attempts and new states of many deliveries in one short transaction).
//! A worker killed at any point loses nothing: unrecorded leases expire and the rows fall due.
pub mod breaker;
pub mod metrics;
pub mod sender;
pub mod slack;
mod worker;

pub use breaker::BreakerPolicy;
pub use metrics::EndpointMetrics;
pub use worker::{Engine, EngineHandle};

use crate::retry::RetryPolicy;
use crate::ssrf::SsrfGuard;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    pub request_timeout: Duration,
    /// In-flight sends per worker process.
    pub concurrency: usize,
    /// In-flight sends per endpoint across all worker processes (see `store::sends`).
    pub per_endpoint_concurrency: usize,
    pub batch_size: i64,
    /// Fallback poll when no NOTIFY arrives.
    pub poll_interval: Duration,
    pub max_response_bytes: usize,
    pub guard: SsrfGuard,
    /// How long a claim is held; `None` derives it from the timeout.
    pub lease: Option<Duration>,
    /// How often a worker expunges the payloads of messages past their retention period.
    pub retention_sweep: Duration,
    /// How long messages, their deliveries and attempts are kept (whole days: a day's history
    /// is dropped once its newest message is this old).
    pub message_retention: Duration,
    /// This instance's base URL: deliveries to its test inboxes (`{public_url}/inbox/…`) are
    /// recorded inside Hookline instead of being sent over the network.
    pub public_url: String,
    /// The scheduled attempt whose failure sends `message.attempt.failing` to the operational
    /// webhooks (Svix: the fourth); a later success sends `message.attempt.recovered`.
    pub failing_after: i32,
    /// Which endpoints get series of their own in `/metrics`.
    pub endpoint_metrics: EndpointMetrics,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            request_timeout: Duration::from_secs(15),
            concurrency: 128,
            per_endpoint_concurrency: 64,
            batch_size: 128,
            poll_interval: Duration::from_secs(1),
            max_response_bytes: 16 * 1024,
            guard: SsrfGuard::default(),
            lease: None,
            retention_sweep: Duration::from_secs(300),
            message_retention: Duration::from_secs(90 * 86_400),
            public_url: "http://127.0.0.1:8080".into(),
            failing_after: 4,
            endpoint_metrics: EndpointMetrics::Off,
        }
    }
}

impl DeliveryConfig {
    /// How long a claim is held: long enough for the slowest send plus the recording.
    pub fn lease(&self) -> Duration {
        self.lease
            .unwrap_or(self.request_timeout * 2 + Duration::from_secs(30))
    }

    /// How long the single probe of a half-open circuit holds the endpoint: the deliveries
    /// that did not win it wait this long, unless the probe succeeds first.
    pub fn probe_window(&self) -> Duration {
        self.request_timeout + Duration::from_secs(5)
    }

    /// How much of its lease a claimed delivery must have left to be sent: the slowest send,
    /// plus a margin for recording it (a quarter of the lease's spare time, at most 5 s).
    pub fn lease_needed_to_send(&self) -> Duration {
        let spare = self.lease().saturating_sub(self.request_timeout);
        self.request_timeout + (spare / 4).min(Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_needs_the_timeout_and_a_margin_that_fits_the_lease() {
        let d = DeliveryConfig::default();
        // 15 s timeout, 60 s lease: 45 s spare, margin capped at 5 s
        assert_eq!(d.lease_needed_to_send(), Duration::from_secs(20));
        let tight = DeliveryConfig {
            request_timeout: Duration::from_secs(3),
            lease: Some(Duration::from_secs(4)),
            ..Default::default()
        };
        // a fresh claim (4 s left) can always be sent
        assert_eq!(tight.lease_needed_to_send(), Duration::from_millis(3250));
    }
}
