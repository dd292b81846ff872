//! The retry policy: pure, deterministic given its random input, and unit-tested.
//!
//! After the immediate first try, attempt *n* (1-based) that fails is retried after
//! `schedule[n-1]` ± `jitter` (20% by default). A `Retry-After` from a 429 or 503 can only push
//! the retry later, never earlier, and is capped. When the schedule is spent the delivery is
//! given up: it becomes `failed`, the dead-letter state, from which `recover`/`resend` bring it
//! back.
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the immediate first try.
pub const DEFAULT_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub schedule: Vec<Duration>,
    /// Fraction of each delay added or removed at random, in `[0, 1)`.
    pub jitter: f64,
    /// The longest a `Retry-After` header may delay a retry.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            schedule: DEFAULT_SCHEDULE.to_vec(),
            jitter: 0.2,
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before the next try, or `None` to give up.
    ///
    /// * `failed_attempts`: scheduled attempts made so far, including the one that just failed.
    /// * `retry_after`: the server's `Retry-After`, only passed for 429 and 503 responses.
    /// * `unit`: a uniform random number in `[0, 1)` that picks the jitter.
    pub fn next_delay(
        &self,
        failed_attempts: u32,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        let idx = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
        let base = *self.schedule.get(idx)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor.max(0.0));
        Some(match retry_after {
            Some(ra) => jittered.max(ra.min(self.retry_after_cap)),
            None => jittered,
        })
    }

    /// Total number of attempts a delivery gets: the first try plus one per schedule entry.
    pub fn max_attempts(&self) -> u32 {
        self.schedule.len() as u32 + 1
    }
}

/// Parses a comma-separated schedule such as `5s,5m,30m,2h` (humantime units, including `ms`).
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_duration(s).map_err(|e| format!("'{s}' in the retry schedule: {e}")))
        .collect()
}

/// `5s`, `250ms`, `2h`, `1h30m`... (the subset of humantime the config uses).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number in '{s}'"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in '{s}'"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" | "sec" | "" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86_400),
            other => return Err(format!("unknown unit '{other}' (use ms, s, m, h or d)")),
        };
    }
    Ok(total)
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date. Dates in the past give zero.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn follows_the_schedule_without_jitter_at_the_midpoint() {
        let p = policy();
        assert_eq!(p.next_delay(1, None, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(p.next_delay(2, None, 0.5), Some(Duration::from_secs(300)));
        assert_eq!(p.next_delay(7, None, 0.5), Some(Duration::from_secs(36_000)));
    }

    #[test]
    fn gives_up_once_the_schedule_is_spent() {
        let p = policy();
        assert_eq!(p.next_delay(8, None, 0.5), None);
        assert_eq!(p.next_delay(0, None, 0.5), None);
        assert_eq!(p.max_attempts(), 8);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let p = policy();
        let low = p.next_delay(2, None, 0.0).unwrap();
        let high = p.next_delay(2, None, 0.999_999).unwrap();
        assert_eq!(low, Duration::from_secs(240));
        assert!(high > Duration::from_secs(359) && high <= Duration::from_secs(360));
        for i in 0..100 {
            let d = p.next_delay(3, None, i as f64 / 100.0).unwrap();
            assert!(d >= Duration::from_secs(1440) && d <= Duration::from_secs(2160));
        }
    }

    #[test]
    fn retry_after_only_makes_a_retry_later_and_is_capped() {
        let p = policy();
        // shorter than the schedule: ignored
        assert_eq!(
            p.next_delay(2, Some(Duration::from_secs(1)), 0.5),
            Some(Duration::from_secs(300))
        );
        // longer: honoured
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(60)), 0.5),
            Some(Duration::from_secs(60))
        );
        // absurd: capped
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(999_999)), 0.5),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn parses_schedules_and_durations() {
        assert_eq!(
            parse_schedule("5s,5m,30m,2h").unwrap()[3],
            Duration::from_secs(7200)
        );
        assert_eq!(
            parse_schedule("10ms, 20ms").unwrap(),
            vec![Duration::from_millis(10), Duration::from_millis(20)]
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_schedule("5s,soon").unwrap_err().contains("soon"));
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
