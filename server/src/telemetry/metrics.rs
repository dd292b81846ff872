//! Prometheus: the catalogue of every series Hookline exports (its type, labels and meaning;
//! the README's table is held to it by a test), the process-wide recorder, the request
//! middleware, and the gauges read from the database at each scrape.
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported series.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

const fn s(name: &'static str, kind: Kind, labels: &'static [&'static str], help: &'static str) -> Series {
    Series {
        name,
        kind,
        labels,
        help,
    }
}

/// Every series, in the README's order.
pub const CATALOGUE: &[Series] = &[
    s("hookline_http_requests_total", Kind::Counter, &["method", "route", "status"],
      "HTTP requests answered (API, portal, assets); route is the matched route's template, or \"fallback\" for assets and pages not found"),
    s("hookline_http_request_duration_seconds", Kind::Histogram, &["method", "route"],
      "Time to answer an HTTP request"),
    s("hookline_messages_ingested_total", Kind::Counter, &[], "Messages accepted"),
    s("hookline_filter_errors_total", Kind::Counter, &[],
        "Payload filters that could not be evaluated on a message (a missing field): the message did not pass"),
    s("hookline_ingest_batches_total", Kind::Counter, &[], "Batches ingested messages were stored in, one statement and one commit each (group commit): messages ingested / batches is the mean batch"),
    s("hookline_attempts_total", Kind::Counter, &["result"],
      "Delivery attempts, by result: success or the error code (E_TIMEOUT, E_STATUS, E_CONNECT, ...)"),
    s("hookline_attempt_duration_seconds", Kind::Histogram, &[], "Time from sending a delivery to its response"),
    s("hookline_deliveries_succeeded_total", Kind::Counter, &[], "Deliveries that succeeded"),
    s("hookline_deliveries_failed_total", Kind::Counter, &[],
      "Deliveries that failed for good (exhausted their retries): each went to the dead letter"),
    s("hookline_deliveries_deferred_total", Kind::Counter, &["reason"],
      "Claimed deliveries put back unsent: throttle, or endpoint_concurrency"),
    s("hookline_endpoint_attempts_total", Kind::Counter, &["endpoint", "result"],
      "Attempts per endpoint (success or failure), for the endpoints chosen by HOOKLINE_METRICS_ENDPOINTS"),
    s("hookline_endpoint_attempt_duration_seconds", Kind::Histogram, &["endpoint"],
      "Attempt latency per endpoint, for the endpoints chosen by HOOKLINE_METRICS_ENDPOINTS"),
    s("hookline_endpoints_auto_disabled_total", Kind::Counter, &[],
      "Endpoints disabled by Hookline for failing longer than HOOKLINE_DISABLE_AFTER"),
    s("hookline_queue_depth", Kind::Gauge, &[], "Deliveries due now and not being sent (whole deployment)"),
    s("hookline_queue_oldest_due_age_seconds", Kind::Gauge, &[],
      "How long the oldest due delivery has waited (whole deployment)"),
    s(
        "hookline_queue_paused_deliveries",
        Kind::Gauge,
        &[],
        "Deliveries due but held while their endpoint's breaker is open (whole deployment)",
    ),
    s("hookline_dead_letter_deliveries", Kind::Gauge, &[],
      "Deliveries that failed for good and were not recovered (whole deployment)"),
    s("hookline_endpoints_circuit_open", Kind::Gauge, &[], "Endpoints whose breaker is open (whole deployment)"),
    s("hookline_endpoints_disabled", Kind::Gauge, &[], "Disabled endpoints, by hand or by Hookline (whole deployment)"),
    s("hookline_payloads_expunged_total", Kind::Counter, &[], "Message payloads dropped past their retention"),
    s("hookline_records_purged_total", Kind::Counter, &["table"], "Records purged past their use, by table"),
    s("hookline_history_days_dropped_total", Kind::Counter, &[], "Days of history dropped past HOOKLINE_MESSAGE_RETENTION"),
];

/// The label values known in advance, so that their series exist (at 0) from the start:
/// alert rules and dashboards see a rate of 0 rather than no data.
fn known_values(name: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    match name {
        "hookline_attempts_total" => vec![vec![("result", "success")]],
        "hookline_deliveries_deferred_total" => vec![
            vec![("reason", "throttle")],
            vec![("reason", "endpoint_concurrency")],
        ],
        "hookline_records_purged_total" => domain::store::maintenance::TABLES
            .iter()
            .map(|t| vec![("table", *t)])
            .collect(),
        _ => vec![vec![]],
    }
}

/// The process-wide recorder (installed once; tests start many apps per process).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                describe_and_register();
            }
            handle
        })
        .clone()
}

fn describe_and_register() {
    for series in CATALOGUE {
        let (name, help) = (series.name, series.help);
        match series.kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, metrics::Unit::Seconds, help),
        }
        // per-endpoint and per-route series have no value known in advance
        if series.labels.iter().any(|l| matches!(*l, "endpoint" | "route")) {
            continue;
        }
        for labels in known_values(name) {
            let labels: Vec<metrics::Label> = labels
                .into_iter()
                .map(|(k, v)| metrics::Label::new(k, v))
                .collect();
            match series.kind {
                Kind::Counter => metrics::counter!(name, labels).increment(0),
                Kind::Gauge => metrics::gauge!(name, labels).set(0.0),
                Kind::Histogram => drop(metrics::histogram!(name, labels)),
            }
        }
    }
}

/// The route label of a request that no route matched (assets, pages not found).
pub const FALLBACK_ROUTE: &str = "fallback";

/// The method label: the methods Hookline answers, and `other` for the rest (a label's values
/// must stay few whatever clients send).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by method, route template and status. Added with
/// `Router::layer`, which wraps each route, so the matched route is known here.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(FALLBACK_ROUTE, |p| p.as_str())
        .to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("hookline_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("hookline_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// Renders the series, after reading the deployment-wide gauges from the database (left as
/// they were when it cannot be read: the scrape still answers).
pub async fn render(pool: &sqlx::PgPool, handle: &PrometheusHandle) -> String {
    match domain::store::deliveries::queue_gauges(pool).await {
        Ok(q) => {
            metrics::gauge!("hookline_queue_depth").set(q.due as f64);
            metrics::gauge!("hookline_queue_oldest_due_age_seconds").set(q.oldest_due_age);
            metrics::gauge!("hookline_queue_paused_deliveries").set(q.paused as f64);
            metrics::gauge!("hookline_dead_letter_deliveries").set(q.dead_letter as f64);
        }
        Err(e) => tracing::warn!(error = %e, "reading the queue's gauges failed"),
    }
    match domain::store::endpoints::health_gauges(pool).await {
        Ok((open, disabled)) => {
            metrics::gauge!("hookline_endpoints_circuit_open").set(open as f64);
            metrics::gauge!("hookline_endpoints_disabled").set(disabled as f64);
        }
        Err(e) => tracing::warn!(error = %e, "reading the endpoints' gauges failed"),
    }
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("telemetry/metrics.rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }

    #[test]
    fn every_series_the_code_emits_is_in_the_catalogue_and_the_readme() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut code = String::new();
        sources(&root.join("domain/src"), &mut code);
        sources(&root.join("server/src"), &mut code);
        let emitted: std::collections::BTreeSet<&str> =
            regex::Regex::new(r#"(?:counter|gauge|histogram)!\(\s*"(hookline_[a-z_]+)""#)
                .unwrap()
                .captures_iter(&code)
                .map(|c| c.get(1).unwrap().as_str())
                .collect();
        assert!(emitted.len() >= 10, "found only {emitted:?}");
        for name in &emitted {
            assert!(
                CATALOGUE.iter().any(|s| s.name == *name),
                "{name} is emitted but not in CATALOGUE"
            );
        }
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for series in CATALOGUE {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}", series.name)))
                .unwrap_or_else(|| panic!("{} has no row in the README's metrics table", series.name));
            let kind = format!("{:?}", series.kind).to_lowercase();
            assert!(
                row.contains(&format!("| {kind} |")),
                "{}: the README's row does not say {kind}",
                series.name
            );
            for label in series.labels {
                assert!(
                    row.contains(&format!("`{label}`")),
                    "{}: the README's row does not name label {label}",
                    series.name
                );
            }
        }
    }

    #[test]
    fn methods_outside_the_known_few_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        let odd = axum::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
