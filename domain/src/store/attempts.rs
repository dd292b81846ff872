//! Reading the attempt log and the per-message / per-endpoint delivery views.
use super::endpoints::EndpointRow;
use super::messages::{payload_json, MessageFilter, MessageRow};
use super::{deliveries::shown_status, Page};
use crate::types::{
    EndpointMessageOut, ListResponse, MessageAttemptOut, MessageEndpointOut, MessageStatus, TriggerType,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub status: i16,
    pub trigger_type: i16,
    pub response_status_code: i32,
    pub response: Option<String>,
    pub duration_ms: i64,
    pub error_code: Option<String>,
    pub request_headers: Option<Json<Value>>,
    pub created_at: DateTime<Utc>,
}

impl AttemptRow {
    pub fn into_out(self, with_content: bool) -> MessageAttemptOut {
        let status = MessageStatus::try_from(self.status).unwrap_or(MessageStatus::Fail);
        MessageAttemptOut {
            id: self.id,
            msg_id: self.message_id,
            endpoint_id: self.endpoint_id,
            url: self.url,
            response: if with_content {
                self.response.unwrap_or_default()
            } else {
                String::new()
            },
            response_status_code: self.response_status_code.into(),
            response_duration_ms: self.duration_ms,
            status,
            status_text: status.text().into(),
            trigger_type: TriggerType::try_from(self.trigger_type).unwrap_or(TriggerType::Scheduled),
            timestamp: self.created_at,
            error_code: self.error_code,
            msg: None,
        }
    }
}

const COLS: &str =
    "a.id, a.message_id, a.endpoint_id, a.url, a.status, a.trigger_type, a.response_status_code, \
    a.response, a.duration_ms, a.error_code, a.request_headers, a.created_at";

/// Filters of the attempt listings.
#[derive(Debug, Clone, Default)]
pub struct AttemptFilter {
    pub message: MessageFilter,
    pub status: Option<i16>,
    /// 0 (no response), 100, 200, 300, 400 or 500.
    pub status_code_class: Option<i32>,
    pub endpoint_id: Option<String>,
    /// Attach each attempt's message (`with_msg`).
    pub with_msg: bool,
}

/// Attempts of one message (`by = "message_id"`) or one endpoint (`by = "endpoint_id"`),
/// newest first by default.
pub async fn list(
    db: &sqlx::PgPool,
    app_id: &str,
    by: &'static str,
    id: &str,
    filter: &AttemptFilter,
    page: &Page,
) -> sqlx::Result<ListResponse<AttemptRow>> {
    // `before` and `after` bound the attempts' own times here, not their messages'.
    let message = MessageFilter {
        before: None,
        after: None,
        ..filter.message.clone()
    };
    let mut qb = sqlx::QueryBuilder::new(format!(
        "SELECT {COLS} FROM attempts a JOIN messages m ON m.id = a.message_id WHERE a.app_id = "
    ));
    qb.push_bind(app_id);
    qb.push(format!(" AND a.{by} = ")).push_bind(id);
    message.push(&mut qb);
    if let Some(b) = filter.message.before {
        qb.push(" AND a.created_at < ").push_bind(b);
    }
    if let Some(a) = filter.message.after {
        qb.push(" AND a.created_at > ").push_bind(a);
    }
    if let Some(s) = filter.status {
        qb.push(" AND a.status = ").push_bind(s);
    }
    if let Some(class) = filter.status_code_class {
        if class == 0 {
            qb.push(" AND a.response_status_code = 0");
        } else {
            qb.push(" AND a.response_status_code >= ").push_bind(class);
            qb.push(" AND a.response_status_code < ").push_bind(class + 100);
        }
    }
    if let Some(ep) = &filter.endpoint_id {
        qb.push(" AND a.endpoint_id = ").push_bind(ep);
    }
    page.push_keyset(&mut qb, "a.id");
    let rows: Vec<AttemptRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(page.finish(rows, |a| a.id.clone()))
}

pub async fn get(
    db: impl PgExecutor<'_>,
    app_id: &str,
    message_id: &str,
    attempt_id: &str,
) -> sqlx::Result<Option<AttemptRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM attempts a WHERE a.app_id = $1 AND a.message_id = $2 AND a.id = $3"
    ))
    .bind(app_id)
    .bind(message_id)
    .bind(attempt_id)
    .fetch_optional(db)
    .await
}

pub async fn expunge_content(
    db: impl PgExecutor<'_>,
    app_id: &str,
    message_id: &str,
    attempt_id: &str,
) -> sqlx::Result<bool> {
    let r =
        sqlx::query("UPDATE attempts SET response = NULL WHERE app_id = $1 AND message_id = $2 AND id = $3")
            .bind(app_id)
            .bind(message_id)
            .bind(attempt_id)
            .execute(db)
            .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct DestinationRow {
    #[sqlx(flatten)]
    endpoint: EndpointRow,
    d_status: i16,
    d_leased_until: Option<DateTime<Utc>>,
    d_next_attempt_at: DateTime<Utc>,
}

/// The endpoints a message was (or is being) delivered to, with each delivery's state.
pub async fn destinations(
    db: &sqlx::PgPool,
    app_id: &str,
    message_id: &str,
    page: &Page,
) -> sqlx::Result<ListResponse<MessageEndpointOut>> {
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT e.id, e.app_id, e.uid, e.url, e.description, e.version, e.event_types, e.channels,
                e.throttle_rate, e.disabled, e.disabled_reason, e.headers, e.metadata, e.consecutive_failures,
                e.failing_since, e.circuit_open_until, e.created_at, e.updated_at, e.payload_format, e.filter,
                d.status AS d_status, d.leased_until AS d_leased_until,
                -- an open breaker holds the delivery until its pause ends
                GREATEST(d.next_attempt_at, e.circuit_open_until) AS d_next_attempt_at
         FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         WHERE d.app_id = ",
    );
    qb.push_bind(app_id)
        .push(" AND d.message_id = ")
        .push_bind(message_id);
    page.push_keyset(&mut qb, "e.id");
    let rows: Vec<DestinationRow> = qb.build_query_as().fetch_all(db).await?;
    let now = Utc::now();
    let out = rows
        .into_iter()
        .map(|r| {
            let status = shown_status(r.d_status, r.d_leased_until, now);
            MessageEndpointOut {
                endpoint: r.endpoint.into(),
                status,
                status_text: status.text().into(),
                next_attempt: (r.d_status == 1).then_some(r.d_next_attempt_at),
            }
        })
        .collect();
    Ok(page.finish(out, |m: &MessageEndpointOut| m.endpoint.id.clone()))
}

#[derive(sqlx::FromRow)]
struct EndpointMessageRow {
    #[sqlx(flatten)]
    message: MessageRow,
    d_status: i16,
    d_leased_until: Option<DateTime<Utc>>,
    d_next_attempt_at: DateTime<Utc>,
}

/// The messages sent (or being sent) to one endpoint, with that delivery's state.
pub async fn endpoint_messages(
    db: &sqlx::PgPool,
    endpoint_id: &str,
    filter: &AttemptFilter,
    with_content: bool,
    page: &Page,
) -> sqlx::Result<ListResponse<EndpointMessageOut>> {
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT m.id, m.app_id, m.event_type, m.event_id, m.payload, m.channels, m.tags, m.deliver_at, m.created_at,
                d.status AS d_status, d.leased_until AS d_leased_until,
                -- an open breaker holds the delivery until its pause ends
                GREATEST(d.next_attempt_at,
                         (SELECT e.circuit_open_until FROM endpoints e WHERE e.id = d.endpoint_id))
                    AS d_next_attempt_at
         FROM deliveries d JOIN messages m ON m.id = d.message_id
         WHERE d.endpoint_id = ",
    );
    qb.push_bind(endpoint_id);
    filter.message.push(&mut qb);
    // "sending" is not stored: it is a pending delivery that a worker holds right now.
    match filter.status {
        Some(1) => qb.push(" AND d.status = 1 AND (d.leased_until IS NULL OR d.leased_until <= now())"),
        Some(3) => qb.push(" AND d.status = 1 AND d.leased_until > now()"),
        Some(s) => qb.push(" AND d.status = ").push_bind(s),
        None => &mut qb,
    };
    page.push_keyset(&mut qb, "m.id");
    let rows: Vec<EndpointMessageRow> = qb.build_query_as().fetch_all(db).await?;
    let now = Utc::now();
    let out = rows
        .into_iter()
        .map(|r| {
            let status = shown_status(r.d_status, r.d_leased_until, now);
            EndpointMessageOut {
                payload: payload_json(r.message.payload.as_deref(), with_content),
                id: r.message.id,
                event_type: r.message.event_type,
                event_id: r.message.event_id,
                channels: r.message.channels,
                tags: r.message.tags,
                deliver_at: r.message.deliver_at,
                timestamp: r.message.created_at,
                status,
                status_text: status.text().into(),
                next_attempt: (r.d_status == 1).then_some(r.d_next_attempt_at),
            }
        })
        .collect();
    Ok(page.finish(out, |m: &EndpointMessageOut| m.id.clone()))
}

/// An endpoint's attempts in `n` buckets of `len_secs` from `start`: count, successes and the
/// median and 95th-percentile duration. Every bucket is returned, empty ones too.
pub async fn chart(
    db: impl PgExecutor<'_>,
    endpoint_id: &str,
    start: DateTime<Utc>,
    len_secs: i64,
    n: i64,
) -> sqlx::Result<Vec<crate::types::ChartBucket>> {
    // The window's attempts are read once through the (endpoint_id, id) index (ids sort by
    // time, so the window is an id range) and each is put in its bucket by arithmetic; the
    // empty buckets come from the series.
    let end = start + chrono::Duration::seconds(len_secs * n);
    let (lo, hi) = (
        crate::ids::id_floor_at(crate::ids::ATTEMPT, start.timestamp_millis() - 1_000),
        crate::ids::id_floor_at(crate::ids::ATTEMPT, end.timestamp_millis() + 1_000),
    );
    sqlx::query_as(
        "WITH a AS (
             SELECT floor(extract(epoch FROM created_at - $2) / $3)::int AS i, status, duration_ms
             FROM attempts
             WHERE endpoint_id = $1 AND id >= $5 AND id < $6
               AND created_at >= $2 AND created_at < $2 + make_interval(secs => $3 * $4))
         SELECT $2 + make_interval(secs => b.i * $3) AS start, count(a.i) AS attempts,
                count(a.i) FILTER (WHERE a.status = 0) AS succeeded,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS p50_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS p95_ms
         FROM generate_series(0, $4 - 1) AS b(i) LEFT JOIN a ON a.i = b.i
         GROUP BY b.i ORDER BY b.i",
    )
    .bind(endpoint_id)
    .bind(start)
    .bind(len_secs as f64)
    .bind(n)
    .bind(lo)
    .bind(hi)
    .fetch_all(db)
    .await
}
