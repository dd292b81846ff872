//! What the organisation's overview page counts, per endpoint.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointActivity {
    pub endpoint_id: String,
    pub app_id: String,
    pub app_name: String,
    pub url: String,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub circuit_open_until: Option<DateTime<Utc>>,
    /// Deliveries of messages sent since the window's start, by state.
    pub succeeded: i64,
    pub pending: i64,
    pub failed: i64,
    /// Failed deliveries (dead letters) of any age still kept.
    pub dead_letters: i64,
    /// Attempts made since the window's start, and their mean and 95th-percentile duration.
    pub attempts: i64,
    pub mean_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// Every endpoint of the organisation with its activity since `since`. Each endpoint's rows are
/// read from its own index ranges (messages and attempts by their time-ordered ids, dead
/// letters from their own index), not from the whole history.
pub async fn endpoint_activity(
    db: impl PgExecutor<'_>,
    org_id: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<EndpointActivity>> {
    let ms = since.timestamp_millis();
    sqlx::query_as(
        "SELECT e.id AS endpoint_id, e.app_id, a.name AS app_name, e.url, e.disabled, e.disabled_reason,
                e.consecutive_failures, e.circuit_open_until,
                d.succeeded, d.pending, d.failed,
                (SELECT count(*) FROM deliveries f WHERE f.endpoint_id = e.id AND f.status = 2) AS dead_letters,
                x.attempts, x.mean_ms, x.p95_ms
         FROM endpoints e
         JOIN applications a ON a.id = e.app_id
         CROSS JOIN LATERAL (
             SELECT count(*) FILTER (WHERE status = 0) AS succeeded,
                    count(*) FILTER (WHERE status = 1) AS pending,
                    count(*) FILTER (WHERE status = 2) AS failed
             FROM deliveries d WHERE d.endpoint_id = e.id AND d.message_id >= $2) d
         CROSS JOIN LATERAL (
             SELECT count(*) AS attempts, avg(duration_ms)::float8 AS mean_ms,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
             FROM attempts t WHERE t.endpoint_id = e.id AND t.id >= $3) x
         WHERE e.org_id = $1 AND NOT a.operational
         ORDER BY e.id",
    )
    .bind(org_id)
    .bind(crate::ids::id_floor_at(crate::ids::MESSAGE, ms))
    .bind(crate::ids::id_floor_at(crate::ids::ATTEMPT, ms))
    .fetch_all(db)
    .await
}
