-- Failed portal logins, for throttling: recent failures for an email slow further attempts.
CREATE TABLE login_failures (
    email      TEXT NOT NULL,
    failed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (lower(email), failed_at);
