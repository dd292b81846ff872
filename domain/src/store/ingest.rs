//! Group commit of ingest: many messages, each with a delivery per matching endpoint, its
//! event id and its idempotency record, in one statement and one commit, with one NOTIFY for
//! the batch. Each message keeps its own outcome: one whose `eventId` the application already
//! has (or an earlier message of the same batch took) is left out, alone.
use super::messages::NewMessage;
use serde_json::Value;
use sqlx::PgExecutor;

/// What became of one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored, with this many deliveries queued.
    Queued(i64),
    /// Not stored: the application already has a message with its `eventId`.
    DuplicateEventId,
    /// Not stored: the application no longer exists (deleted since it was looked up).
    AppGone,
}

/// Inserts `batch` (messages for every matching endpoint; `only_endpoint` is not taken here)
/// and returns each message's outcome, in the batch's order.
pub async fn insert_batch(db: impl PgExecutor<'_>, batch: &[NewMessage<'_>]) -> sqlx::Result<Vec<Inserted>> {
    let list = |v: Option<&[String]>| v.map(|v| Value::from(v.to_vec()));
    macro_rules! col {
        ($e:expr) => {
            batch.iter().map($e).collect::<Vec<_>>()
        };
    }
    let rows: Vec<(i64, bool, bool, i64)> = sqlx::query_as(&format!(
        "WITH input AS (
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::int[],
                                  $12::text[], $13::text[], $14::text[], $15::int[], $16::bytea[], $17::jsonb[])
                 WITH ORDINALITY AS x(id, org_id, app_id, event_type, event_id, payload, channels, tags,
                                      deliver_at, created_at, retention_hours, content_type, traceparent,
                                      idem_key, idem_code, idem_body, skip, nth)),
         -- the messages whose application still exists (it was looked up before, maybe from a
         -- cache: see `service::lookups`)
         live AS (
             SELECT x.* FROM input x
             WHERE EXISTS (SELECT 1 FROM applications a WHERE a.id = x.app_id AND a.org_id = x.org_id)),
         -- an eventId is unique per application: a message whose id is already taken, or taken
         -- by an earlier message of this batch, is left out
         ev AS (
             INSERT INTO message_event_ids (app_id, event_id, message_id)
             SELECT app_id, event_id, id FROM live WHERE event_id IS NOT NULL ORDER BY nth
             ON CONFLICT DO NOTHING
             RETURNING message_id),
         ok AS (
             SELECT i.*,
                    CASE WHEN i.channels IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(i.channels)) END AS channel_list,
                    CASE WHEN i.tags IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(i.tags)) END AS tag_list,
                    -- the endpoints whose payload filter the message does not pass
                    CASE WHEN i.skip IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(i.skip)) END AS skip_list
             FROM live i
             WHERE i.event_id IS NULL OR i.id IN (SELECT message_id FROM ev)),
         m AS (
             INSERT INTO messages (id, org_id, app_id, event_type, event_id, payload, channels, tags, deliver_at,
                                   created_at, expires_at, content_type, traceparent)
             SELECT id, org_id, app_id, event_type, event_id, payload, channel_list, tag_list, deliver_at,
                    created_at, created_at + make_interval(hours => retention_hours), content_type, traceparent
             FROM ok
             RETURNING id),
         d AS (
             INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, next_attempt_at)
             SELECT ok.org_id, ok.app_id, ok.id, e.id, coalesce(ok.deliver_at, now())
             FROM ok CROSS JOIN LATERAL (
                 SELECT id FROM endpoints
                 WHERE app_id = ok.app_id AND NOT disabled
                   AND (event_types IS NULL OR cardinality(event_types) = 0 OR ok.event_type = ANY(event_types))
                   AND (channels IS NULL OR cardinality(channels) = 0 OR channels && coalesce(ok.channel_list, '{{}}'))
                   AND (ok.skip_list IS NULL OR NOT id = ANY(ok.skip_list))) e
             RETURNING message_id),
         i AS (
             UPDATE idempotency_keys k SET status_code = ok.idem_code, response = ok.idem_body, completed_at = now()
             FROM ok WHERE ok.idem_key IS NOT NULL AND k.org_id = ok.org_id AND k.key = ok.idem_key
             RETURNING 1),
         counted AS (SELECT message_id, count(*) AS n FROM d GROUP BY message_id)
         SELECT x.nth, x.id IN (SELECT id FROM live) AS live,
                (x.event_id IS NULL OR x.id IN (SELECT message_id FROM ev)) AS stored,
                coalesce(c.n, 0) AS queued
         FROM input x LEFT JOIN counted c ON c.message_id = x.id
         -- one NOTIFY for the batch (an uncorrelated subquery runs once), and only if it queued any
         WHERE (SELECT count(*) FROM d) = 0 OR (SELECT 1 FROM (SELECT pg_notify('{channel}', '')) p) = 1
         ORDER BY x.nth",
        channel = super::DELIVERY_CHANNEL,
    ))
    .bind(col!(|m| m.id))
    .bind(col!(|m| m.org_id))
    .bind(col!(|m| m.app_id))
    .bind(col!(|m| m.event_type))
    .bind(col!(|m| m.event_id))
    .bind(col!(|m| m.payload))
    .bind(col!(|m| list(m.channels)))
    .bind(col!(|m| list(m.tags)))
    .bind(col!(|m| m.deliver_at))
    .bind(col!(|m| m.created_at))
    .bind(col!(|m| m.retention_hours as i32))
    .bind(col!(|m| m.content_type))
    .bind(col!(|m| m.traceparent))
    .bind(col!(|m| m.idempotency.map(|(k, _, _)| k)))
    .bind(col!(|m| m.idempotency.map(|(_, c, _)| i32::from(c))))
    .bind(col!(|m| m.idempotency.map(|(_, _, b)| b)))
    .bind(col!(|m| (!m.skip_endpoints.is_empty()).then(|| Value::from(m.skip_endpoints.to_vec()))))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(_, live, stored, queued)| match (live, stored) {
            (false, _) => Inserted::AppGone,
            (true, true) => Inserted::Queued(queued),
            (true, false) => Inserted::DuplicateEventId,
        })
        .collect())
}
