//! Trace context across the queue. A message's ingest and its attempts run in different
//! tasks, and often in different processes, so the ingest's W3C trace context (`traceparent`)
//! is stored with the message and each attempt's span is made its child. With no OpenTelemetry
//! exporter installed (the server installs one when `OTEL_EXPORTER_OTLP_ENDPOINT` is set), the
//! global propagator is a no-op: nothing is stored and nothing is linked.
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

struct One(Option<String>);

impl Injector for One {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

impl Extractor for One {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0.as_deref()).flatten()
    }
    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// The current span's trace context as a `traceparent` value, when traces are exported.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut one = One(None);
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut one));
    one.0
}

/// Makes `span` a child of the trace context `traceparent` (stored by
/// [`current_traceparent`], or sent by a caller); does nothing without one, or when traces
/// are not exported. A malformed value starts a new trace.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent else { return };
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&One(Some(tp.to_string()))));
    // fails only when no OpenTelemetry layer is installed: nothing to link then
    let _ = span.set_parent(cx);
}
