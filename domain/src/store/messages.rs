//! Messages and the fan-out that turns one message into one delivery per matching endpoint.
use super::{endpoints::MATCHING_ENDPOINTS_SQL, Page};
use crate::types::{ListResponse, MessageOut};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub app_id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub payload: Option<String>,
    pub channels: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub deliver_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub(crate) const COLS: &str =
    "id, app_id, event_type, event_id, payload, channels, tags, deliver_at, created_at";

/// The payload as JSON; `{}` when expunged or not asked for (the SDKs require the key).
pub fn payload_json(payload: Option<&str>, with_content: bool) -> Box<RawValue> {
    let empty = || RawValue::from_string("{}".into()).expect("valid JSON");
    match payload {
        // A raw payload need not be a JSON object; the SDKs type `payload` as one (Python's
        // model refuses anything else), so such a body reads back as {}: it is delivered as sent.
        Some(p) if with_content => RawValue::from_string(p.to_owned())
            .ok()
            .filter(|v| v.get().trim_start().starts_with('{'))
            .unwrap_or_else(empty),
        _ => empty(),
    }
}

impl MessageRow {
    pub fn into_out(self, with_content: bool) -> MessageOut {
        MessageOut {
            payload: payload_json(self.payload.as_deref(), with_content),
            id: self.id,
            event_type: self.event_type,
            event_id: self.event_id,
            channels: self.channels,
            tags: self.tags,
            deliver_at: self.deliver_at,
            timestamp: self.created_at,
        }
    }
}

pub struct NewMessage<'a> {
    pub org_id: &'a str,
    pub app_id: &'a str,
    pub id: &'a str,
    pub event_type: &'a str,
    pub event_id: Option<&'a str>,
    pub payload: &'a str,
    /// The Content-Type to deliver with, when not application/json (a raw payload).
    pub content_type: Option<&'a str>,
    pub channels: Option<&'a [String]>,
    pub tags: Option<&'a [String]>,
    /// Deliver no earlier than this (`deliverAt`); `None` means now.
    pub deliver_at: Option<DateTime<Utc>>,
    pub retention_hours: i64,
    /// The message's timestamp, chosen by the caller so that the response (and its
    /// idempotency record) can be written in the same statement.
    pub created_at: DateTime<Utc>,
    /// Deliver only to this endpoint (send-example), instead of every matching one.
    pub only_endpoint: Option<&'a str>,
    /// Endpoints whose payload filter the message does not pass (`crate::filter`): left out
    /// of the fan-out. Taken by the batched insert (`store::ingest`) only.
    pub skip_endpoints: &'a [String],
    /// `(key, status code, response body)` of an `Idempotency-Key` claim to complete.
    pub idempotency: Option<(&'a str, u16, &'a [u8])>,
    /// The ingest's W3C trace context, when traces are exported (see `crate::trace`).
    pub traceparent: Option<&'a str>,
}

/// Inserts the message, a due delivery row for every matching enabled endpoint and the
/// idempotency response, and NOTIFYs the workers — one statement, so one round trip and
/// atomic without an explicit transaction. Returns how many deliveries were queued.
pub async fn insert_with_deliveries(db: impl PgExecutor<'_>, m: &NewMessage<'_>) -> sqlx::Result<i64> {
    let endpoints = match m.only_endpoint {
        Some(_) => "SELECT id FROM endpoints WHERE app_id = $1 AND id = $10".to_string(),
        None => MATCHING_ENDPOINTS_SQL.to_string(),
    };
    let (key, code, body) = match m.idempotency {
        Some((k, c, b)) => (Some(k), Some(c as i32), Some(b)),
        None => (None, None, None),
    };
    sqlx::query_scalar(&format!(
        "WITH m AS (
             INSERT INTO messages (id, org_id, app_id, event_type, event_id, payload, channels, tags, deliver_at,
                                   created_at, expires_at, content_type, traceparent)
             VALUES ($4, $5, $1, $2, $6, $7, $8, $15, $16, $11, $11 + make_interval(hours => $9::int), $17, $18)
             RETURNING id, created_at),
         -- an eventId is unique per application (the messages table, partitioned, cannot hold
         -- a unique key without the partition key)
         ev AS (
             INSERT INTO message_event_ids (app_id, event_id, message_id)
             SELECT $1, $6, $4 WHERE $6::text IS NOT NULL),
         d AS (
             INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, next_attempt_at)
             SELECT $5, $1, m.id, e.id, coalesce($16, now()) FROM m, ({endpoints}) e
             RETURNING 1),
         i AS (
             UPDATE idempotency_keys SET status_code = $13, response = $14, completed_at = now()
             WHERE $12::text IS NOT NULL AND org_id = $5 AND key = $12 AND EXISTS (SELECT 1 FROM m)
             RETURNING 1)
         SELECT c.n, CASE WHEN c.n > 0 THEN (SELECT 1 FROM (SELECT pg_notify('{channel}', '')) p) END
         FROM (SELECT count(*) AS n FROM d) c",
        channel = super::DELIVERY_CHANNEL,
    ))
    .bind(m.app_id) // $1
    .bind(m.event_type) // $2
    .bind(m.channels.unwrap_or(&[])) // $3
    .bind(m.id) // $4
    .bind(m.org_id) // $5
    .bind(m.event_id) // $6
    .bind(m.payload) // $7
    .bind(m.channels) // $8
    .bind(m.retention_hours as i32) // $9
    .bind(m.only_endpoint) // $10
    .bind(m.created_at) // $11
    .bind(key) // $12
    .bind(code) // $13
    .bind(body) // $14
    .bind(m.tags) // $15
    .bind(m.deliver_at) // $16
    .bind(m.content_type) // $17
    .bind(m.traceparent) // $18
    .fetch_one(db)
    .await
}

/// Wakes the workers (delivered when the surrounding transaction commits).
pub async fn notify_workers(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::DELIVERY_CHANNEL)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    app_id: &str,
    id_or_event_id: &str,
) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM messages WHERE app_id = $1 AND (id = $2 OR event_id = $2)
         ORDER BY (id = $2) DESC LIMIT 1"
    ))
    .bind(app_id)
    .bind(id_or_event_id)
    .fetch_optional(db)
    .await
}

/// The application's messages with these ids (in no particular order).
pub async fn get_many(
    db: impl PgExecutor<'_>,
    app_id: &str,
    ids: &[String],
) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM messages WHERE app_id = $1 AND id = ANY($2)"
    ))
    .bind(app_id)
    .bind(ids)
    .fetch_all(db)
    .await
}

pub async fn get_by_event_id(
    db: impl PgExecutor<'_>,
    app_id: &str,
    event_id: &str,
) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM messages WHERE app_id = $1 AND event_id = $2"
    ))
    .bind(app_id)
    .bind(event_id)
    .fetch_optional(db)
    .await
}

/// Filters shared by message and attempt listings.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub event_types: Option<Vec<String>>,
    pub channel: Option<String>,
    /// Only messages carrying this tag.
    pub tag: Option<String>,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    /// How the message's deliveries stand (portal log): `Success` when every delivery
    /// succeeded, `Pending` when any is still to be delivered, `Fail` when any failed for good.
    pub outcome: Option<crate::types::MessageStatus>,
    /// Only the message with this id or eventId (portal search).
    pub id_or_event_id: Option<String>,
    /// Only messages whose payload matches this search (`crate::search`), answered from the
    /// GIN indexes of the migration `…_message_search.sql` (the expressions must stay theirs).
    pub search: Option<crate::search::Search>,
}

impl MessageFilter {
    /// Appends the filter on a message alias `m`.
    pub fn push<'a>(&'a self, qb: &mut sqlx::QueryBuilder<'a, sqlx::Postgres>) {
        if let Some(types) = &self.event_types {
            qb.push(" AND m.event_type = ANY(").push_bind(types).push(")");
        }
        if let Some(ch) = &self.channel {
            qb.push(" AND ").push_bind(ch).push(" = ANY(m.channels)");
        }
        if let Some(tag) = &self.tag {
            qb.push(" AND m.tags @> ARRAY[").push_bind(tag).push("]::text[]");
        }
        if let Some(b) = self.before {
            qb.push(" AND m.created_at < ").push_bind(b);
        }
        if let Some(a) = self.after {
            qb.push(" AND m.created_at > ").push_bind(a);
        }
        if let Some(q) = &self.id_or_event_id {
            qb.push(" AND (m.id = ")
                .push_bind(q)
                .push(" OR m.event_id = ")
                .push_bind(q)
                .push(")");
        }
        if let Some(search) = &self.search {
            if let Some(doc) = &search.contains {
                qb.push(" AND hookline_payload_jsonb(m.payload) @> ")
                    .push_bind(sqlx::types::Json(doc))
                    .push("::jsonb");
            }
            if let Some(words) = &search.text {
                qb.push(" AND hookline_payload_words(m.payload) @@ websearch_to_tsquery('simple', ")
                    .push_bind(words)
                    .push(")");
            }
        }
        use crate::types::MessageStatus as S;
        match self.outcome {
            Some(S::Success) => qb.push(
                " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id)
                  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status <> 0)",
            ),
            Some(S::Pending | S::Sending) => {
                qb.push(" AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 1)")
            }
            Some(S::Fail) => {
                qb.push(" AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 2)")
            }
            None => qb,
        };
    }
}

/// Newest first by default, as Svix lists messages.
pub async fn list(
    db: &sqlx::PgPool,
    app_id: &str,
    filter: &MessageFilter,
    page: &Page,
) -> sqlx::Result<ListResponse<MessageRow>> {
    // A search is planned for its own words each time (not with a cached generic plan, which
    // cannot tell a rare word, read from the index, from a common one, read newest first).
    let rows: Vec<MessageRow> = list_query(app_id, filter, page)
        .build_query_as()
        .persistent(filter.search.is_none())
        .fetch_all(db)
        .await?;
    Ok(page.finish(rows, |m| m.id.clone()))
}

/// Whether a search's words can be looked up in the words index: not when they only exclude
/// (`-test`, `-a or b`), which only reading every message of the application could answer.
pub async fn words_use_index(db: impl PgExecutor<'_>, words: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT querytree(websearch_to_tsquery('simple', $1)) <> 'T'")
        .bind(words)
        .fetch_one(db)
        .await
}

/// The statement `list` runs (the search benchmark EXPLAINs it).
pub fn list_query<'a>(
    app_id: &'a str,
    filter: &'a MessageFilter,
    page: &'a Page,
) -> sqlx::QueryBuilder<'a, sqlx::Postgres> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLS} FROM messages m WHERE m.app_id = "));
    qb.push_bind(app_id);
    filter.push(&mut qb);
    page.push_keyset(&mut qb, "m.id");
    qb
}

pub async fn expunge_content(db: impl PgExecutor<'_>, app_id: &str, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE messages SET payload = NULL WHERE app_id = $1 AND id = $2")
        .bind(app_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Drops the payloads of up to `limit` messages past their retention period (`expires_at`),
/// skipping rows another sweeper holds. A message with a delivery still pending keeps its
/// payload until that delivery settles (a 1-day retention is shorter than the default retry
/// schedule). Returns how many were expunged.
pub async fn expunge_expired(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE messages SET payload = NULL WHERE id IN (
             SELECT m.id FROM messages m
             WHERE m.expires_at < now() AND m.payload IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 1)
             ORDER BY m.expires_at LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED)",
    )
    .bind(limit)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
