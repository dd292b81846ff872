//! The delivery engine's Prometheus series (the catalogue, with types and labels, is the
//! server's `telemetry::metrics`, and the README's). Per-endpoint series are opt-in and
//! bounded: each endpoint is a label value, so a deployment with many endpoints would
//! otherwise make as many series.
use super::sender::SendResult;
use crate::store::deliveries::{FAILED, SUCCESS};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// Which endpoints get their own series (`HOOKLINE_METRICS_ENDPOINTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EndpointMetrics {
    /// None: only the deployment-wide series.
    #[default]
    Off,
    /// Every endpoint, up to `limit` per process; any further ones share [`OTHER`].
    All { limit: usize },
    /// These endpoints only.
    Only(Vec<String>),
}

/// The `endpoint` label of the endpoints past [`EndpointMetrics::All`]'s limit.
pub const OTHER: &str = "other";

impl EndpointMetrics {
    /// Reads `off` (or nothing), `all`, or a comma-separated list of endpoint ids.
    pub fn parse(value: &str, limit: usize) -> Result<Self, String> {
        let v = value.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        if v.eq_ignore_ascii_case("all") {
            if limit == 0 {
                return Err("the endpoint limit must be at least 1".into());
            }
            return Ok(Self::All { limit });
        }
        let ids: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = ids.iter().find(|id| {
            !id.starts_with("ep_")
                || id.len() > 64
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            return Err(format!(
                "'{bad}' is not an endpoint id (ep_…); use off, all, or endpoint ids separated by commas"
            ));
        }
        Ok(Self::Only(ids))
    }
}

/// The label each endpoint's series get in this process (endpoints are labelled in the
/// order this process first sends to them).
#[derive(Debug, Default)]
pub struct EndpointLabels {
    seen: Mutex<HashSet<String>>,
}

impl EndpointLabels {
    /// The `endpoint` label for `endpoint_id`, or `None` when it has no series of its own.
    pub fn label<'a>(&self, cfg: &EndpointMetrics, endpoint_id: &'a str) -> Option<&'a str> {
        match cfg {
            EndpointMetrics::Off => None,
            EndpointMetrics::Only(ids) => ids.iter().any(|i| i == endpoint_id).then_some(endpoint_id),
            EndpointMetrics::All { limit } => {
                let mut seen = self.seen.lock().expect("endpoint labels lock");
                if seen.contains(endpoint_id) {
                    Some(endpoint_id)
                } else if seen.len() < *limit {
                    seen.insert(endpoint_id.to_owned());
                    Some(endpoint_id)
                } else {
                    Some(OTHER)
                }
            }
        }
    }
}

/// The deployment-wide series of one attempt.
pub(crate) fn record_attempt(r: &SendResult, next_status: i16) {
    let result = if r.ok() {
        "success"
    } else {
        r.error_code.unwrap_or("E_UNKNOWN")
    };
    metrics::counter!("hookline_attempts_total", "result" => result).increment(1);
    metrics::histogram!("hookline_attempt_duration_seconds").record(r.duration.as_secs_f64());
    match next_status {
        SUCCESS => metrics::counter!("hookline_deliveries_succeeded_total").increment(1),
        FAILED => metrics::counter!("hookline_deliveries_failed_total").increment(1),
        _ => {}
    }
}

/// One endpoint's series of one attempt (only for endpoints with a label).
pub(crate) fn record_endpoint_attempt(endpoint: &str, ok: bool, duration: Duration) {
    let result = if ok { "success" } else { "failure" };
    metrics::counter!("hookline_endpoint_attempts_total", "endpoint" => endpoint.to_owned(), "result" => result)
        .increment(1);
    metrics::histogram!("hookline_endpoint_attempt_duration_seconds", "endpoint" => endpoint.to_owned())
        .record(duration.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reads_off_all_or_endpoint_ids_and_names_a_bad_one() {
        assert_eq!(EndpointMetrics::parse("", 100), Ok(EndpointMetrics::Off));
        assert_eq!(EndpointMetrics::parse("off", 100), Ok(EndpointMetrics::Off));
        assert_eq!(
            EndpointMetrics::parse("ALL", 7),
            Ok(EndpointMetrics::All { limit: 7 })
        );
        assert_eq!(
            EndpointMetrics::parse(" ep_a, ep_b ,", 100),
            Ok(EndpointMetrics::Only(vec!["ep_a".into(), "ep_b".into()]))
        );
        let e = EndpointMetrics::parse("ep_a,app_b", 100).unwrap_err();
        assert!(e.contains("'app_b' is not an endpoint id"), "{e}");
        assert!(EndpointMetrics::parse("all", 0).is_err());
    }

    #[test]
    fn only_the_chosen_endpoints_get_a_label() {
        let labels = EndpointLabels::default();
        assert_eq!(labels.label(&EndpointMetrics::Off, "ep_a"), None);
        let only = EndpointMetrics::Only(vec!["ep_a".into()]);
        assert_eq!(labels.label(&only, "ep_a"), Some("ep_a"));
        assert_eq!(labels.label(&only, "ep_b"), None);
    }

    #[test]
    fn all_endpoints_are_labelled_up_to_the_limit_and_the_rest_share_other() {
        let labels = EndpointLabels::default();
        let all = EndpointMetrics::All { limit: 2 };
        assert_eq!(labels.label(&all, "ep_a"), Some("ep_a"));
        assert_eq!(labels.label(&all, "ep_b"), Some("ep_b"));
        assert_eq!(labels.label(&all, "ep_c"), Some(OTHER));
        // those labelled keep their label; the limit holds however many come after
        assert_eq!(labels.label(&all, "ep_a"), Some("ep_a"));
        assert_eq!(labels.label(&all, "ep_d"), Some(OTHER));
    }
}
