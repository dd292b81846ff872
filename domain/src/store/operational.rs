//! Operational webhooks' messages: an event about an organisation becomes a message of its
//! operational application (see the migration `operational_webhooks`), delivered to that
//! application's endpoints like any other message: signed, retried, logged.
use super::applications;
use super::messages::{insert_with_deliveries, NewMessage};
use crate::ids;
use crate::types::OperationalEvent;
use chrono::SubsecRound;
use sqlx::{Acquire, PgConnection};
use std::collections::HashMap;

/// How long an operational message's payload is kept, in hours (as an ingested message's
/// default).
const RETENTION_HOURS: i64 = 90 * 24;

/// An event and the organisation it is about.
pub type OrgEvent = (String, OperationalEvent);

/// Queues each event as a message of its organisation's operational application, for the
/// endpoints subscribed to its type. Organisations without an operational application are
/// skipped (one indexed lookup for the lot), and so are events about the operational
/// application itself: they would report on themselves. Runs in a savepoint when `conn` is in
/// a transaction, so a failure leaves the caller's work standing. Returns how many deliveries
/// were queued.
pub async fn emit_all(conn: &mut PgConnection, events: &[OrgEvent]) -> sqlx::Result<i64> {
    if events.is_empty() {
        return Ok(0);
    }
    // everything in the savepoint: a failed statement must not abort the caller's transaction
    let mut sp = conn.begin().await?;
    let mut orgs: Vec<String> = events.iter().map(|(o, _)| o.clone()).collect();
    orgs.sort();
    orgs.dedup();
    let apps: HashMap<String, String> = applications::operational_ids(&mut *sp, &orgs)
        .await?
        .into_iter()
        .collect();
    let wanted: Vec<(&str, &str, &OperationalEvent)> = events
        .iter()
        .filter_map(|(org, e)| {
            let app = apps.get(org)?;
            (e.app_id() != Some(app.as_str())).then_some((org.as_str(), app.as_str(), e))
        })
        .collect();
    let mut queued = 0;
    for (org, app, e) in wanted {
        let payload = serde_json::to_string(e).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let id = ids::new_id(ids::MESSAGE);
        queued += insert_with_deliveries(
            &mut *sp,
            &NewMessage {
                org_id: org,
                app_id: app,
                id: &id,
                event_type: e.event_type(),
                event_id: None,
                payload: &payload,
                content_type: None,
                channels: None,
                tags: None,
                deliver_at: None,
                retention_hours: RETENTION_HOURS,
                created_at: chrono::Utc::now().trunc_subsecs(6),
                only_endpoint: None,
                skip_endpoints: &[],
                idempotency: None,
                traceparent: crate::trace::current_traceparent().as_deref(),
            },
        )
        .await?;
    }
    sp.commit().await?;
    Ok(queued)
}

/// The uids that the events about these deliveries name: `(app uid, endpoint uid, message
/// eventId)` for each `(app, endpoint, message)`, in order (`None` where a row is gone).
pub async fn uids(
    conn: &mut PgConnection,
    of: &[(String, String, String)],
) -> sqlx::Result<Vec<(Option<String>, Option<String>, Option<String>)>> {
    let col = |f: fn(&(String, String, String)) -> &String| of.iter().map(f).cloned().collect::<Vec<_>>();
    sqlx::query_as(
        "SELECT a.uid, e.uid, m.event_id
         FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(app_id, endpoint_id, message_id, n)
         LEFT JOIN applications a ON a.id = x.app_id
         LEFT JOIN endpoints e ON e.id = x.endpoint_id
         LEFT JOIN messages m ON m.id = x.message_id
         ORDER BY x.n",
    )
    .bind(col(|t| &t.0))
    .bind(col(|t| &t.1))
    .bind(col(|t| &t.2))
    .fetch_all(conn)
    .await
}

/// A notification's delivery to one destination, for the portal's history.
#[derive(Debug, sqlx::FromRow)]
pub struct SentRow {
    pub msg_id: String,
    pub event_type: String,
    pub payload: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub endpoint_id: String,
    pub status: i16,
    pub attempt_count: i32,
    pub last_status_code: Option<i32>,
}

/// The newest `limit` messages of the operational application `app_id`, one row per
/// destination, newest first.
pub async fn sent(db: impl sqlx::PgExecutor<'_>, app_id: &str, limit: i64) -> sqlx::Result<Vec<SentRow>> {
    sqlx::query_as(
        "SELECT m.id AS msg_id, m.event_type, m.payload, m.created_at, d.endpoint_id, d.status,
                d.attempt_count,
                (SELECT a.response_status_code FROM attempts a
                 WHERE a.message_id = d.message_id AND a.delivery_id = d.id
                 ORDER BY a.created_at DESC LIMIT 1) AS last_status_code
         FROM (SELECT id, event_type, payload, created_at FROM messages
               WHERE app_id = $1 ORDER BY id DESC LIMIT $2) m
         JOIN deliveries d ON d.message_id = m.id
         ORDER BY m.id DESC, d.endpoint_id",
    )
    .bind(app_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
