//! The delivery queue. A pending row is due when `next_attempt_at` has passed and it is not
//! under a live lease. Claiming only stamps `leased_until` (an unindexed column, so the update
//! can be HOT and touches no index); the stamp doubles as a fencing token: a worker may only
//! record into a row whose `leased_until` is still the one it claimed. A worker that dies lets
//! its rows fall due again when the lease runs out.
use crate::types::{MessageStatus, TriggerType};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgExecutor;

pub const PENDING: i16 = 1;
pub const SUCCESS: i16 = 0;
pub const FAILED: i16 = 2;
/// `next_trigger` of a resend made while the delivery was still pending (see [`resend`]).
pub const MANUAL_KEEPING_SCHEDULE: i16 = 2;

pub use super::claim::{claim_due, next_due_at, ClaimedDelivery, Room, CLAIM_SKIPPING_SQL, CLAIM_SQL};

/// The recorded result of one attempt and the delivery's next state.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub lease: DateTime<Utc>,
    pub attempt_id: String,
    pub org_id: String,
    pub app_id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub status: MessageStatus,
    pub trigger: TriggerType,
    pub response_status_code: i32,
    pub response: String,
    pub duration_ms: i64,
    pub error_code: Option<String>,
    pub request_headers: Value,
    pub at: DateTime<Utc>,
    /// Delivery's next state: `PENDING` with `next_attempt_at`, `SUCCESS` or `FAILED`.
    pub next_status: i16,
    pub next_attempt_at: DateTime<Utc>,
    /// Whether the attempt counts toward the retry schedule (a resend made while the
    /// delivery was still retrying does not).
    pub counts_toward_schedule: bool,
    /// `next_trigger` when the delivery was claimed: if a resend changed it meanwhile, the
    /// resend still goes out after this attempt.
    pub claimed_trigger: i16,
}

/// Writes a batch of attempts and moves their deliveries on, in one transaction. Deliveries
/// whose lease was taken over by another worker keep their state (the attempt is still logged).
pub async fn record_attempts(db: impl PgExecutor<'_>, batch: &[AttemptRecord]) -> sqlx::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    macro_rules! col {
        ($f:expr) => {
            batch.iter().map($f).collect::<Vec<_>>()
        };
    }
    // One statement (so atomic on its own): the attempt log, then the deliveries' new states.
    sqlx::query(
        "WITH logged AS (
             INSERT INTO attempts (id, org_id, app_id, delivery_id, message_id, endpoint_id, url, status,
                 trigger_type, response_status_code, response, duration_ms, error_code, request_headers,
                 created_at)
             SELECT x.* FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                 $7::text[], $8::smallint[], $9::smallint[], $10::int[], $11::text[], $12::bigint[],
                 $13::text[], $14::jsonb[], $15::timestamptz[])
                 AS x(id, org_id, app_id, delivery_id, message_id, endpoint_id, url, status, trigger_type,
                      response_status_code, response, duration_ms, error_code, request_headers, created_at)
             -- an endpoint or application deleted while its delivery was in flight took the
             -- delivery with it: its attempt has nothing left to belong to. (`= ANY` of the
             -- batch's ids: a primary-key lookup, where a correlated EXISTS was planned as a
             -- scan of the whole table.)
             -- (The message ids, here and below, confine the lookups to the rows' partitions.)
             WHERE (x.delivery_id, x.message_id) IN (
                 SELECT d.id, d.message_id FROM deliveries d
                 WHERE d.id = ANY($4::bigint[]) AND d.message_id = ANY($5::text[])))
         UPDATE deliveries d
         SET status = CASE WHEN d.next_trigger = u.trig THEN u.status ELSE 1 END,
             next_attempt_at = CASE WHEN d.next_trigger = u.trig THEN u.next_at ELSE now() END,
             next_trigger = CASE WHEN d.next_trigger = u.trig THEN 0 ELSE d.next_trigger END,
             attempt_count = d.attempt_count + u.counts::int,
             leased_until = NULL, throttle_slot = false, last_attempt_at = u.at, updated_at = now()
         FROM UNNEST($4::bigint[], $5::text[], $16::timestamptz[], $17::smallint[], $18::timestamptz[],
                     $15::timestamptz[], $19::bool[], $20::smallint[])
              AS u(id, message_id, lease, status, next_at, at, counts, trig)
         WHERE d.id = u.id AND d.message_id = u.message_id AND d.leased_until = u.lease
           AND d.message_id = ANY($5::text[])",
    )
    .bind(col!(|r| r.attempt_id.clone()))
    .bind(col!(|r| r.org_id.clone()))
    .bind(col!(|r| r.app_id.clone()))
    .bind(col!(|r| r.delivery_id))
    .bind(col!(|r| r.message_id.clone()))
    .bind(col!(|r| r.endpoint_id.clone()))
    .bind(col!(|r| r.url.clone()))
    .bind(col!(|r| i16::from(r.status)))
    .bind(col!(|r| i16::from(r.trigger)))
    .bind(col!(|r| r.response_status_code))
    .bind(col!(|r| r.response.clone()))
    .bind(col!(|r| r.duration_ms))
    .bind(col!(|r| r.error_code.clone()))
    .bind(col!(|r| Json(r.request_headers.clone())))
    .bind(col!(|r| r.at))
    .bind(col!(|r| r.lease))
    .bind(col!(|r| r.next_status))
    .bind(col!(|r| r.next_attempt_at))
    .bind(col!(|r| r.counts_toward_schedule))
    .bind(col!(|r| r.claimed_trigger))
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the pending deliveries of `endpoints` that fall due before `until` due now (their
/// circuit closed: they were held only by its probe). Not those on a reserved throttle slot
/// (the throttle still spaces them) nor those of a message scheduled later (`deliverAt`); a
/// retry due within the window goes now too, the endpoint having just answered. Returns how
/// many.
pub async fn due_now(
    db: impl PgExecutor<'_>,
    endpoints: &[String],
    until: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE deliveries d SET next_attempt_at = now()
         WHERE d.status = 1 AND d.next_attempt_at > now() AND d.next_attempt_at <= $2
           AND d.endpoint_id = ANY($1) AND NOT d.throttle_slot
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id AND m.deliver_at > now())",
    )
    .bind(endpoints)
    .bind(until)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Claimed deliveries, as parallel arrays: each row's id, message id (the partition key) and
/// the lease it was claimed with (the fencing token).
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub ids: &'a [i64],
    pub message_ids: &'a [String],
    pub leases: &'a [DateTime<Utc>],
}

/// Puts claimed deliveries back without an attempt (throttled, breaker open), due at `at`;
/// `reserved`: `at` is a throttle slot reserved for the row.
pub async fn release(
    db: impl PgExecutor<'_>,
    keys: &Keys<'_>,
    at: &[DateTime<Utc>],
    reserved: &[bool],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE deliveries d SET next_attempt_at = u.at, leased_until = NULL, throttle_slot = u.reserved,
             updated_at = now()
         FROM UNNEST($1::bigint[], $5::text[], $2::timestamptz[], $3::timestamptz[], $4::bool[])
              AS u(id, message_id, lease, at, reserved)
         WHERE d.id = u.id AND d.message_id = u.message_id AND d.leased_until = u.lease
           AND d.message_id = ANY($5::text[])",
    )
    .bind(keys.ids)
    .bind(keys.leases)
    .bind(at)
    .bind(reserved)
    .bind(keys.message_ids)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks claimed deliveries failed without an attempt (their endpoint was disabled).
pub async fn fail_without_attempt(db: impl PgExecutor<'_>, keys: &Keys<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE deliveries d SET status = 2, leased_until = NULL, updated_at = now()
         FROM UNNEST($1::bigint[], $3::text[], $2::timestamptz[]) AS u(id, message_id, lease)
         WHERE d.id = u.id AND d.message_id = u.message_id AND d.leased_until = u.lease
           AND d.message_id = ANY($3::text[])",
    )
    .bind(keys.ids)
    .bind(keys.leases)
    .bind(keys.message_ids)
    .execute(db)
    .await?;
    Ok(())
}

/// Queues a manual attempt of `message_id` to `endpoint_id` now (resend), creating the
/// delivery when the endpoint was never sent this message. `next_trigger`: 1 for a manual
/// attempt whose failure ends the delivery, 2 for one made while the delivery was still pending
/// on its retry schedule (a failure goes back to the schedule).
pub async fn resend(
    db: impl PgExecutor<'_>,
    org_id: &str,
    app_id: &str,
    message_id: &str,
    endpoint_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, next_trigger, next_attempt_at)
         VALUES ($1, $2, $3, $4, 1, now())
         ON CONFLICT (message_id, endpoint_id) DO UPDATE
             SET status = 1,
                 -- still pending on its schedule: the manual attempt keeps the schedule's retries
                 next_trigger = CASE WHEN deliveries.status <> 1 THEN 1
                                     WHEN deliveries.next_trigger = 0 THEN 2
                                     ELSE deliveries.next_trigger END,
                 -- an attempt in flight keeps its lease (no second, simultaneous send): when it
                 -- is recorded, the changed next_trigger sends this one after it
                 next_attempt_at = now(), throttle_slot = false,
                 leased_until = CASE WHEN deliveries.leased_until > now() THEN deliveries.leased_until END,
                 updated_at = now()",
    )
    .bind(org_id)
    .bind(app_id)
    .bind(message_id)
    .bind(endpoint_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Re-queues every failed delivery of the endpoint whose message is in `[since, until)`.
pub async fn recover(
    db: impl PgExecutor<'_>,
    endpoint_id: &str,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE deliveries SET status = 1, next_trigger = 1, next_attempt_at = now(), leased_until = NULL,
             throttle_slot = false, updated_at = now()
         WHERE endpoint_id = $1 AND status = 2 AND created_at >= $2 AND ($3::timestamptz IS NULL OR created_at < $3)",
    )
    .bind(endpoint_id)
    .bind(since)
    .bind(until)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Queues a delivery to the endpoint of every message since `since` (until `until`) that
/// its filters match and that it never had a delivery of (created before the endpoint, sent
/// while its filters differed, or while it was disabled). Messages whose payload has been
/// expunged are left out: there is nothing left to send. Returns how many were queued.
/// The messages (`m`) since `$2` (until `$3`) that the endpoint (`ep`) should have had and
/// never got: its event types and channels match, the payload is still kept, and it has no
/// delivery there. Shared by the replay and by the candidates its payload filter chooses from.
macro_rules! missing_for_endpoint {
    () => {
        "m.created_at >= $2 AND ($3::timestamptz IS NULL OR m.created_at < $3)
         AND m.payload IS NOT NULL
         AND (ep.event_types IS NULL OR cardinality(ep.event_types) = 0 OR m.event_type = ANY(ep.event_types))
         AND (ep.channels IS NULL OR cardinality(ep.channels) = 0 OR ep.channels && coalesce(m.channels, '{}'))
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.endpoint_id = ep.id)"
    };
}

/// A message `replay_missing` would send, as a payload filter reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplayCandidate {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub content_type: Option<String>,
    pub channels: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

/// The next `limit` messages after `after` (by id) that [`replay_missing`] would send the
/// endpoint, for its payload filter to choose from.
pub async fn replay_candidates(
    db: impl PgExecutor<'_>,
    endpoint_id: &str,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    after: &str,
    limit: i64,
) -> sqlx::Result<Vec<ReplayCandidate>> {
    sqlx::query_as(concat!(
        "SELECT m.id, m.event_type, m.payload, m.content_type, m.channels, m.tags
         FROM endpoints ep JOIN messages m ON m.app_id = ep.app_id
         WHERE ep.id = $1 AND m.id > $4 AND ",
        missing_for_endpoint!(),
        " ORDER BY m.id LIMIT $5"
    ))
    .bind(endpoint_id)
    .bind(since)
    .bind(until)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Queues, for the endpoint, the messages since `since` (until `until`) it should have had and
/// never got; only those in `only` when given (the ones its payload filter passes).
pub async fn replay_missing(
    db: impl PgExecutor<'_>,
    endpoint_id: &str,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    only: Option<&[String]>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(concat!(
        "WITH ep AS (SELECT id, org_id, app_id, event_types, channels FROM endpoints WHERE id = $1),
         ins AS (
             INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, next_attempt_at)
             SELECT m.org_id, m.app_id, m.id, ep.id, now()
             FROM ep JOIN messages m ON m.app_id = ep.app_id
             WHERE ($4::text[] IS NULL OR m.id = ANY($4)) AND ",
        missing_for_endpoint!(),
        "
             ON CONFLICT (message_id, endpoint_id) DO NOTHING
             RETURNING 1)
         SELECT count(*) FROM ins"
    ))
    .bind(endpoint_id)
    .bind(since)
    .bind(until)
    .bind(only)
    .fetch_one(db)
    .await
}

/// Counts of the endpoint's deliveries by state, for messages in the window.
pub async fn stats(
    db: impl PgExecutor<'_>,
    endpoint_id: &str,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> sqlx::Result<(i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 0),
                count(*) FILTER (WHERE status = 1 AND (leased_until IS NULL OR leased_until < now())),
                count(*) FILTER (WHERE status = 1 AND leased_until >= now()),
                count(*) FILTER (WHERE status = 2)
         FROM deliveries WHERE endpoint_id = $1
           AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)",
    )
    .bind(endpoint_id)
    .bind(since)
    .bind(until)
    .fetch_one(db)
    .await
}

/// The queue as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct QueueGauges {
    /// Deliveries due now and not being sent, other than those held by an open breaker: what
    /// the workers have yet to do.
    pub due: i64,
    /// Seconds since the oldest of them fell due (0 when none is).
    pub oldest_due_age: f64,
    /// Deliveries due but held while their endpoint's breaker is open: they wait on the
    /// receiver, not on the workers.
    pub paused: i64,
    /// Deliveries that failed for good (the dead letter), until recovered or purged.
    pub dead_letter: i64,
}

/// The queue's gauges; the dead letter is counted on its partial index (`deliveries_failed`).
pub async fn queue_gauges(db: impl PgExecutor<'_>) -> sqlx::Result<QueueGauges> {
    sqlx::query_as(
        "WITH open AS (SELECT coalesce(array_agg(id), '{}') AS ids FROM endpoints WHERE circuit_open_until > now())
         SELECT count(*) FILTER (WHERE d.endpoint_id <> ALL(o.ids)) AS due,
                COALESCE(EXTRACT(EPOCH FROM now() - min(d.next_attempt_at) FILTER (WHERE d.endpoint_id <> ALL(o.ids)))::float8, 0)
                    AS oldest_due_age,
                count(*) FILTER (WHERE d.endpoint_id = ANY(o.ids)) AS paused,
                (SELECT count(*) FROM deliveries WHERE status = 2) AS dead_letter
         FROM deliveries d CROSS JOIN open o
         WHERE d.status = 1 AND d.next_attempt_at <= now()
           AND (d.leased_until IS NULL OR d.leased_until < now())",
    )
    .fetch_one(db)
    .await
}

/// The state shown for a delivery row: a pending row under a live lease is `sending`.
pub fn shown_status(status: i16, leased_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> MessageStatus {
    match status {
        SUCCESS => MessageStatus::Success,
        FAILED => MessageStatus::Fail,
        _ if leased_until.is_some_and(|l| l > now) => MessageStatus::Sending,
        _ => MessageStatus::Pending,
    }
}

/// The deliveries of a message being sent right now: (endpoint id, when the send started).
pub async fn sending_since(
    db: impl PgExecutor<'_>,
    app_id: &str,
    message_id: &str,
) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    sqlx::query_as(
        "SELECT endpoint_id, leased_at FROM deliveries
         WHERE app_id = $1 AND message_id = $2 AND status = 1 AND leased_until > now() AND leased_at IS NOT NULL",
    )
    .bind(app_id)
    .bind(message_id)
    .fetch_all(db)
    .await
}

/// For each of the application's messages in `ids`: deliveries succeeded, still pending (or in
/// flight), and failed for good.
pub async fn outcomes(
    db: impl PgExecutor<'_>,
    app_id: &str,
    ids: &[String],
) -> sqlx::Result<Vec<(String, i64, i64, i64)>> {
    sqlx::query_as(
        "SELECT message_id, count(*) FILTER (WHERE status = 0), count(*) FILTER (WHERE status = 1),
                count(*) FILTER (WHERE status = 2)
         FROM deliveries WHERE app_id = $1 AND message_id = ANY($2) GROUP BY message_id",
    )
    .bind(app_id)
    .bind(ids)
    .fetch_all(db)
    .await
}
