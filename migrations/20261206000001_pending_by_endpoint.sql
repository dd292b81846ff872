-- Each endpoint's pending deliveries in due order. The claim walks this index, endpoint by
-- endpoint, when some endpoints are to be skipped (no room left in the worker, or an open
-- breaker): walking the due index instead would read every due row of a skipped endpoint,
-- which with a large backlog at one endpoint is most of the table.
CREATE INDEX deliveries_pending_endpoint ON deliveries (endpoint_id, next_attempt_at) WHERE status = 1;

-- Attempts are found by message or by endpoint, never by delivery id alone (since the history
-- was partitioned by message id), so this index only cost every recorded attempt a write.
DROP INDEX IF EXISTS attempts_delivery;
