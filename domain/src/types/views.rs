//! What the portal shows that is not in the REST API.
use super::*;

// ------------------------------------------------------------------ portal views (not in the API)

/// The circuit breaker of an endpoint, as the portal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerState {
    /// Delivering normally.
    Closed,
    /// Paused after consecutive failures, until the given time.
    Open(DateTime<Utc>),
    /// The pause is over: the next attempt is a single probe that decides.
    Probing,
}

/// How an endpoint is doing: failures in a row, since when, the breaker, and why it was
/// disabled if it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointHealth {
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub breaker: BreakerState,
}

impl BreakerState {
    /// From the stored pause end: open while it lies ahead, probing once it has passed.
    pub fn at(open_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match open_until {
            Some(u) if u > now => Self::Open(u),
            Some(_) => Self::Probing,
            None => Self::Closed,
        }
    }
}

/// The window a chart covers, split into equal buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartRange {
    #[default]
    Hour,
    Day,
    Week,
}

impl ChartRange {
    pub const ALL: [ChartRange; 3] = [ChartRange::Hour, ChartRange::Day, ChartRange::Week];

    /// (bucket length in seconds, number of buckets)
    pub fn buckets(self) -> (i64, i64) {
        match self {
            Self::Hour => (300, 12),
            Self::Day => (3_600, 24),
            Self::Week => (6 * 3_600, 28),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "Last hour",
            Self::Day => "Last day",
            Self::Week => "Last week",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "day" => Self::Day,
            "week" => Self::Week,
            _ => Self::Hour,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    /// The first bucket's start for a window ending with the bucket that holds `now`, so that
    /// buckets fall on round times.
    pub fn window_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let (len, n) = self.buckets();
        let end = (now.timestamp().div_euclid(len) + 1) * len;
        DateTime::from_timestamp(end - n * len, 0).unwrap_or(now)
    }
}

/// One bucket of an endpoint's attempts: how many, how many succeeded, and latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ChartBucket {
    pub start: DateTime<Utc>,
    pub attempts: i64,
    pub succeeded: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[cfg(test)]
mod portal_view_tests {
    use super::*;

    #[test]
    fn chart_windows_end_with_the_current_bucket_on_round_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:17:42Z")
            .unwrap()
            .to_utc();
        let start = ChartRange::Hour.window_start(now);
        assert_eq!(start.to_rfc3339(), "2026-11-28T09:20:00+00:00");
        assert_eq!(
            ChartRange::Day.window_start(now).to_rfc3339(),
            "2026-11-27T11:00:00+00:00"
        );
        let (len, n) = ChartRange::Week.buckets();
        let w = ChartRange::Week.window_start(now);
        assert!(w + chrono::Duration::seconds(len * n) > now && w <= now - chrono::Duration::days(6));
    }

    #[test]
    fn the_breaker_is_open_until_its_pause_ends_then_probes() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(30);
        assert_eq!(BreakerState::at(None, now), BreakerState::Closed);
        assert_eq!(BreakerState::at(Some(later), now), BreakerState::Open(later));
        assert_eq!(BreakerState::at(Some(now), later), BreakerState::Probing);
    }
}

/// A message with how its deliveries stand, for the portal's message lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageOutcome {
    pub message: MessageOut,
    pub succeeded: i64,
    pub pending: i64,
    pub failed: i64,
}
