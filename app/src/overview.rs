//! The organisation at a glance: what was delivered in the last 24 hours, and what needs
//! attention (failing and disabled endpoints, dead letters, the slowest endpoints).
use crate::error::PortalError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// One endpoint, as the overview lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointLine {
    pub app_id: String,
    pub app_name: String,
    pub endpoint_id: String,
    pub url: String,
    /// Why it needs attention, in words (empty when it does not).
    pub problem: String,
    pub dead_letters: i64,
    pub p95_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OverviewData {
    /// Whether the organisation has an application yet.
    pub has_apps: bool,
    pub endpoints: usize,
    /// Deliveries of the last 24 hours' messages by state.
    pub succeeded: i64,
    pub pending: i64,
    pub failed: i64,
    pub dead_letters: i64,
    /// Failing, paused or disabled endpoints, the worst first.
    pub attention: Vec<EndpointLine>,
    /// Endpoints with dead letters, the most first.
    pub with_dead_letters: Vec<EndpointLine>,
    /// The five slowest endpoints by 95th-percentile attempt time.
    pub slowest: Vec<EndpointLine>,
    pub as_of: Option<DateTime<Utc>>,
}

impl OverviewData {
    /// Succeeded out of settled deliveries, in percent; `None` before any settled.
    pub fn success_rate(&self) -> Option<f64> {
        let settled = self.succeeded + self.failed;
        (settled > 0).then(|| self.succeeded as f64 * 100.0 / settled as f64)
    }
}

#[server(prefix = "/_fn", endpoint = "org_overview")]
pub async fn org_overview() -> Result<OverviewData, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let now = Utc::now();
            let rows = s.endpoint_activity(&t, now - chrono::Duration::hours(24)).await?;
            let has_apps = !s
                .list_apps(
                    &t,
                    Default::default(),
                    &domain::store::Page::new(Some(1), None, domain::types::Ordering::Descending),
                )
                .await?
                .data
                .is_empty();
            Ok(summarise(rows, has_apps, now))
        }
        .await,
    )
}

/// The overview from each endpoint's activity.
#[cfg(feature = "ssr")]
pub fn summarise(
    rows: Vec<domain::store::overview::EndpointActivity>,
    has_apps: bool,
    now: DateTime<Utc>,
) -> OverviewData {
    let mut o = OverviewData {
        has_apps,
        endpoints: rows.len(),
        as_of: Some(now),
        ..Default::default()
    };
    let mut ranked: Vec<(u8, EndpointLine)> = Vec::new();
    for r in rows {
        o.succeeded += r.succeeded;
        o.pending += r.pending;
        o.failed += r.failed;
        o.dead_letters += r.dead_letters;
        let (rank, problem) = if r.disabled {
            (
                0,
                format!(
                    "disabled: {}",
                    r.disabled_reason.clone().unwrap_or_else(|| "by hand".into())
                ),
            )
        } else if r.circuit_open_until.is_some_and(|u| u > now) {
            (
                1,
                format!("paused after {} failures in a row", r.consecutive_failures),
            )
        } else if r.consecutive_failures > 0 {
            (
                2,
                format!("failing: {} failures in a row", r.consecutive_failures),
            )
        } else {
            (u8::MAX, String::new())
        };
        let line = EndpointLine {
            app_id: r.app_id,
            app_name: r.app_name,
            endpoint_id: r.endpoint_id,
            url: r.url,
            problem,
            dead_letters: r.dead_letters,
            p95_ms: r.p95_ms,
            mean_ms: r.mean_ms,
            attempts: r.attempts,
        };
        ranked.push((rank, line));
    }
    ranked.sort_by_key(|(rank, l)| (*rank, std::cmp::Reverse(l.dead_letters)));
    o.attention = ranked
        .iter()
        .filter(|(rank, _)| *rank != u8::MAX)
        .map(|(_, l)| l.clone())
        .collect();
    let mut lines: Vec<EndpointLine> = ranked.into_iter().map(|(_, l)| l).collect();
    o.with_dead_letters = lines.iter().filter(|l| l.dead_letters > 0).cloned().collect();
    o.with_dead_letters
        .sort_by_key(|l| std::cmp::Reverse(l.dead_letters));
    lines.retain(|l| l.p95_ms.is_some());
    lines.sort_by(|a, b| b.p95_ms.unwrap_or(0.0).total_cmp(&a.p95_ms.unwrap_or(0.0)));
    lines.truncate(5);
    o.slowest = lines;
    o
}
