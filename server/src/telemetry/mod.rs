//! Logs through `tracing` (text or JSON), traces over OTLP when configured (`otel`), and the
//! Prometheus series (`metrics`).
pub mod metrics;
pub mod otel;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

pub use metrics::prometheus;

/// Installs the process's subscriber: logs to stderr and, when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans exported over OTLP/HTTP. A
/// misconfigured exporter is an error: asked for traces, Hookline does not run without them.
pub fn init(json: bool) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,tower_http=info,tower_sessions=warn"));
    let logs = fmt::layer().with_writer(std::io::stderr);
    let logs = if json { logs.json().boxed() } else { logs.boxed() };
    let traces = otel::tracer()?.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .try_init();
    Ok(())
}

/// Sends the spans still buffered (at exit).
pub fn shutdown() {
    otel::shutdown();
}
