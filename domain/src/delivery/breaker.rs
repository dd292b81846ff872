//! Endpoint health: a pure policy. Consecutive failures trip a circuit breaker that pauses the
//! endpoint, with a cooldown that doubles on each trip; after it a single probe is sent. An
//! endpoint that has been failing for longer than `disable_after` is disabled with a reason.
use crate::store::endpoints::HealthRow;
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    pub failure_threshold: i32,
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    pub disable_after: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(5),
            // a probe a minute costs a dead endpoint nothing, and a revived one waits at most
            // a minute for its backlog (at 10 minutes, a million-delivery backlog at an
            // endpoint down for 24 minutes waited 355 s after it came back)
            max_cooldown: Duration::from_secs(60),
            disable_after: Duration::from_secs(5 * 86_400),
        }
    }
}

/// What one recording batch saw of one endpoint, in attempt order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchHealth {
    pub any_success: bool,
    /// Failures after the last success in the batch (all of them when none succeeded).
    pub trailing_failures: i32,
    /// Time of the first of those trailing failures.
    pub first_trailing_failure: Option<DateTime<Utc>>,
    /// A half-open probe failed: the circuit opens again, for longer.
    pub probe_failed: bool,
}

impl BatchHealth {
    pub fn observe(&mut self, ok: bool, at: DateTime<Utc>) {
        self.observe_attempt(ok, false, at);
    }

    /// `probe`: the attempt was the single probe sent when the cooldown ended.
    pub fn observe_attempt(&mut self, ok: bool, probe: bool, at: DateTime<Utc>) {
        if probe && !ok {
            self.probe_failed = true;
        }
        if ok {
            self.any_success = true;
            self.trailing_failures = 0;
            self.first_trailing_failure = None;
            self.probe_failed = false;
        } else {
            self.trailing_failures += 1;
            self.first_trailing_failure.get_or_insert(at);
        }
    }
}

impl BreakerPolicy {
    /// The endpoint's state after a batch of outcomes.
    pub fn apply(&self, mut h: HealthRow, b: &BatchHealth, now: DateTime<Utc>) -> HealthRow {
        if b.trailing_failures == 0 {
            if b.any_success {
                h.consecutive_failures = 0;
                h.failing_since = None;
                h.circuit_open_until = None;
                h.circuit_trips = 0;
            }
            return h;
        }
        if b.any_success {
            h.consecutive_failures = b.trailing_failures;
            h.failing_since = b.first_trailing_failure;
        } else {
            h.consecutive_failures += b.trailing_failures;
            h.failing_since = h.failing_since.or(b.first_trailing_failure);
        }
        // While the circuit is open, failures of sends that started before it opened do not
        // re-trip it; a failed probe does (taking the probe pushed `circuit_open_until` to the
        // end of the probe window, so the circuit still looks open here).
        let open = h.circuit_open_until.is_some_and(|t| t > now);
        if h.consecutive_failures >= self.failure_threshold && (!open || b.probe_failed) {
            let factor = 2u32.saturating_pow(h.circuit_trips.clamp(0, 16) as u32);
            let cooldown = self.cooldown.saturating_mul(factor).min(self.max_cooldown);
            h.circuit_trips += 1;
            h.circuit_open_until = Some(now + chrono::Duration::from_std(cooldown).unwrap_or_default());
        }
        if let Some(since) = h.failing_since {
            let limit = chrono::Duration::from_std(self.disable_after).unwrap_or(chrono::Duration::MAX);
            if !h.disabled && now - since >= limit {
                h.disabled = true;
                h.disabled_reason = Some(format!(
                    "Disabled automatically: every delivery failed from {} to {} ({}). Fix the endpoint, then enable it again.",
                    since.format("%Y-%m-%d %H:%M UTC"),
                    now.format("%Y-%m-%d %H:%M UTC"),
                    humanize(self.disable_after)
                ));
            }
        }
        h
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3600 => format!("{} hours", s / 3600),
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> HealthRow {
        HealthRow {
            id: "ep_1".into(),
            consecutive_failures: 0,
            failing_since: None,
            circuit_open_until: None,
            circuit_trips: 0,
            disabled: false,
            disabled_reason: None,
        }
    }

    fn failures(n: i32, at: DateTime<Utc>) -> BatchHealth {
        let mut b = BatchHealth::default();
        for _ in 0..n {
            b.observe(false, at);
        }
        b
    }

    /// The doubling is easier to read from a round first pause than from the default's.
    fn thirty_second_pause() -> BreakerPolicy {
        BreakerPolicy {
            cooldown: std::time::Duration::from_secs(30),
            max_cooldown: std::time::Duration::from_secs(600),
            ..Default::default()
        }
    }

    #[test]
    fn by_default_a_pause_never_outlasts_a_minute() {
        let p = BreakerPolicy::default();
        let mut now = Utc::now();
        let mut h = p.apply(healthy(), &failures(5, now), now);
        for _ in 0..10 {
            // every probe fails
            now = h.circuit_open_until.unwrap();
            let mut b = BatchHealth::default();
            b.observe_attempt(false, true, now);
            h = p.apply(h, &b, now);
        }
        assert_eq!(h.circuit_open_until, Some(now + chrono::Duration::seconds(60)));
    }

    #[test]
    fn trips_after_threshold_and_doubles_the_cooldown() {
        let p = thirty_second_pause();
        let now = Utc::now();
        let h = p.apply(healthy(), &failures(4, now), now);
        assert_eq!(h.circuit_open_until, None);
        let h = p.apply(h, &failures(1, now), now);
        assert_eq!(h.circuit_open_until, Some(now + chrono::Duration::seconds(30)));
        // the probe after the cooldown fails: open again for twice as long
        let later = now + chrono::Duration::seconds(31);
        let h = p.apply(h, &failures(1, later), later);
        assert_eq!(h.circuit_open_until, Some(later + chrono::Duration::seconds(60)));
        assert_eq!(h.circuit_trips, 2);
    }

    #[test]
    fn a_failed_probe_reopens_the_circuit_although_the_probe_window_holds_it_open() {
        let p = thirty_second_pause();
        let now = Utc::now();
        let mut h = p.apply(healthy(), &failures(5, now), now);
        assert_eq!(h.circuit_trips, 1);
        // the cooldown ended and a worker took the probe: open until the probe window ends
        let probe_at = now + chrono::Duration::seconds(31);
        h.circuit_open_until = Some(probe_at + chrono::Duration::seconds(20));
        // a send that started before the circuit opened fails late: no new trip
        let h = p.apply(h, &failures(1, probe_at), probe_at);
        assert_eq!(h.circuit_trips, 1);
        // the probe fails: open again, twice as long as the first cooldown
        let mut b = BatchHealth::default();
        b.observe_attempt(false, true, probe_at);
        let h = p.apply(h, &b, probe_at);
        assert_eq!(h.circuit_trips, 2);
        assert_eq!(
            h.circuit_open_until,
            Some(probe_at + chrono::Duration::seconds(60))
        );
        // and the one after that, twice as long again
        let next = probe_at + chrono::Duration::seconds(61);
        let mut h = h;
        h.circuit_open_until = Some(next + chrono::Duration::seconds(20));
        let mut b = BatchHealth::default();
        b.observe_attempt(false, true, next);
        let h = p.apply(h, &b, next);
        assert_eq!(h.circuit_open_until, Some(next + chrono::Duration::seconds(120)));
    }

    #[test]
    fn a_success_closes_the_circuit() {
        let p = BreakerPolicy::default();
        let now = Utc::now();
        let h = p.apply(healthy(), &failures(9, now), now);
        assert!(h.circuit_open_until.is_some());
        let mut ok = BatchHealth::default();
        ok.observe(true, now);
        assert_eq!(p.apply(h, &ok, now), healthy());
    }

    #[test]
    fn failures_after_a_success_in_the_same_batch_count_from_that_success() {
        let p = BreakerPolicy::default();
        let now = Utc::now();
        let mut b = BatchHealth::default();
        b.observe(false, now);
        b.observe(true, now);
        b.observe(false, now);
        let h = p.apply(healthy(), &b, now);
        assert_eq!(h.consecutive_failures, 1);
    }

    #[test]
    fn disables_an_endpoint_failing_for_longer_than_the_window() {
        let p = BreakerPolicy::default();
        let start = Utc::now();
        let h = p.apply(healthy(), &failures(1, start), start);
        assert!(!h.disabled);
        let later = start + chrono::Duration::days(5);
        let h = p.apply(h, &failures(1, later), later);
        assert!(h.disabled);
        assert!(h.disabled_reason.unwrap().contains("5 days"));
    }
}
