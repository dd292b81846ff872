//! Traces over OTLP/HTTP (protobuf), configured by the standard `OTEL_*` variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on;
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES` and the batch processor's `OTEL_BSP_*` are read by the SDK.
//! Each request is a span (joining a caller's `traceparent`), a message's ingest is a child of
//! it, and each delivery attempt is a child of the ingest (see `domain::trace`).
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use opentelemetry_sdk::Resource;
use std::sync::OnceLock;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

fn set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
}

/// Whether traces are to be exported.
pub fn configured() -> bool {
    set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
}

/// The tracer that exports, when configured; also installs the W3C trace-context propagator
/// that `domain::trace` stores and restores contexts with.
pub fn tracer() -> Result<Option<Tracer>, String> {
    if !configured() {
        return Ok(None);
    }
    for var in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Ok(p) = std::env::var(var) {
            if !p.trim().is_empty() && p.trim() != "http/protobuf" {
                return Err(format!(
                    "{var}={p}: Hookline exports traces over OTLP/HTTP with protobuf (http/protobuf), \
                     the protocol every collector accepts on port 4318; unset it or set http/protobuf"
                ));
            }
        }
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot export traces: {e}"))?;
    let mut resource = Resource::builder();
    if !set("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name("hookline");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("hookline");
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    let _ = PROVIDER.set(provider);
    Ok(Some(tracer))
}

/// Exports what is still buffered and stops the exporter.
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        if let Err(e) = p.shutdown() {
            eprintln!("hookline: exporting the last traces failed: {e}");
        }
    }
}
