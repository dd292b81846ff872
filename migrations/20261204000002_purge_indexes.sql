-- The maintenance sweep deletes expired rows in small batches, oldest first: each table it
-- purges needs an index on the time it purges by, or every batch would scan the table.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX portal_tokens_expires_idx ON portal_tokens (expires_at);
CREATE INDEX login_failures_failed_idx ON login_failures (failed_at);
CREATE INDEX background_tasks_created_idx ON background_tasks (created_at);
