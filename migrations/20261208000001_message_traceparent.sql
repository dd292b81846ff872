-- The W3C trace context of the request that ingested a message, kept when traces are exported
-- over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT): each attempt's span joins the ingest's trace, in
-- whichever worker process sends it. NULL when tracing is off. Adding a nullable column
-- without a default rewrites nothing, on the parent and every partition.
ALTER TABLE messages ADD COLUMN traceparent TEXT;
