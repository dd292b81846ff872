//! The claim: one statement that leases due deliveries in a batch, at most each endpoint's
//! room, reserves their sends in the shared per-endpoint count (`store::sends`) and returns
//! them with what sending needs. See `store::deliveries` for the lease and fencing rules.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::PgExecutor;
use std::collections::HashMap;

/// One claimed unit of work, with what is needed to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub org_id: String,
    pub app_id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub attempt_count: i32,
    pub next_trigger: i16,
    pub leased_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub payload: Option<String>,
    /// The message's Content-Type when it is not application/json (a raw payload).
    pub content_type: Option<String>,
    pub url: String,
    pub headers: Json<Map<String, Value>>,
    /// `store::endpoints::FORMAT_*`: the payload as it is, or made a Slack message.
    pub payload_format: i16,
    pub disabled: bool,
    pub throttle_rate: Option<i32>,
    /// The application's throttle (`throttleRate`), shared by all its endpoints.
    pub app_throttle_rate: Option<i32>,
    pub consecutive_failures: i32,
    pub circuit_open_until: Option<DateTime<Utc>>,
    /// The row was put back on a send slot reserved for it (throttle): send it when due.
    pub throttle_slot: bool,
    /// How many rows the claim locked, leased or not (those over an endpoint's room are not).
    pub locked_count: i64,
    /// Sealed secrets that still sign (current, and a rotated one in its grace period),
    /// newest first.
    pub secrets: Vec<Vec<u8>>,
    /// The message's ingest trace context (see `crate::trace`), when traces are exported.
    pub traceparent: Option<String>,
    /// The sends the claim reserved for this row's endpoint in the shared count (see
    /// `store::sends`), at most the endpoint's rows in the claim; `None` when its endpoint was
    /// disabled or its breaker open (nothing was reserved: those rows are not sent).
    pub granted: Option<i32>,
    /// The statement sends a message's payload with one of its rows and an endpoint's secrets
    /// with one of its rows (see [`share`]); these mark those rows.
    pub carries_payload: bool,
    pub carries_secrets: bool,
}

/// Copies each message's payload and each endpoint's secrets from the row of the claim that
/// carries them to the claim's other rows of that message or endpoint. A fan-out to 50
/// endpoints reads and sends its payload once, not 50 times, and a batch of 256 rows for one
/// endpoint looks its secrets up once.
fn share(rows: &mut [ClaimedDelivery]) {
    let mut payloads: HashMap<String, Option<String>> = HashMap::new();
    let mut secrets: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for r in rows.iter() {
        if r.carries_payload {
            payloads.insert(r.message_id.clone(), r.payload.clone());
        }
        if r.carries_secrets {
            secrets.insert(r.endpoint_id.clone(), r.secrets.clone());
        }
    }
    for r in rows.iter_mut() {
        if !r.carries_payload {
            r.payload = payloads.get(&r.message_id).cloned().flatten();
        }
        if !r.carries_secrets {
            r.secrets = secrets.get(&r.endpoint_id).cloned().unwrap_or_default();
        }
    }
}

/// How many more sends the claiming worker can start now, per endpoint: `endpoints` (those
/// with sends in flight) may take `free` more each, any other endpoint `cap`. An endpoint with
/// no room left is skipped altogether, so its backlog neither waits in the worker (holding
/// slots other endpoints need) nor hides the rows behind it.
#[derive(Debug, Clone, Copy)]
pub struct Room<'a> {
    pub endpoints: &'a [String],
    pub free: &'a [i32],
    pub cap: i32,
    /// The claiming worker's sends that ended since its last reservation: endpoints and
    /// leases, position by position (see `store::sends`).
    pub ended_endpoints: &'a [String],
    pub ended_leases: &'a [DateTime<Utc>],
}

/// The end of both claim statements: lease the rows chosen in `due`, and return them with
/// what sending needs.
macro_rules! claim_tail {
    () => {
        concat!("         claimed AS (
             UPDATE deliveries d
             SET leased_until = now() + make_interval(secs => $2), leased_at = now()
             -- by message id too: the table is partitioned by it, so each row is found in
             -- its own partition instead of being looked for in all of them
             FROM due WHERE d.id = due.id AND d.message_id = due.message_id
             RETURNING d.id, d.org_id, d.app_id, d.message_id, d.endpoint_id, d.attempt_count,
                       d.next_trigger, d.leased_until, d.created_at, d.throttle_slot),
         -- the sends to reserve in the shared count (`store::sends`): the claimed rows of
         -- endpoints that are enabled and not paused by their breaker
         asked AS (
             SELECT c.endpoint_id, count(*)::int AS n, max(c.leased_until) AS lease
             FROM claimed c JOIN endpoints e ON e.id = c.endpoint_id
             WHERE NOT e.disabled AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= now())
             GROUP BY c.endpoint_id),
         -- this worker's sends that ended since its last claim ($7 endpoints, $8 their leases)
         ended AS (
             SELECT endpoint_id, array_agg(lease) AS leases
             FROM UNNEST($7::text[], $8::timestamptz[]) AS x(endpoint_id, lease)
             GROUP BY endpoint_id),
         req AS (
             SELECT coalesce(a.endpoint_id, n.endpoint_id) AS endpoint_id, coalesce(a.n, 0) AS asked,
                    a.lease, coalesce(n.leases, '{}') AS ended
             FROM asked a FULL JOIN ended n ON n.endpoint_id = a.endpoint_id),
         -- as `store::sends::reserve` does it
         granted AS (", ledger_upsert!("$5"), ")
         SELECT c.*, (SELECT count(*) FROM locked) AS locked_count,
                (SELECT g.last_grant FROM granted g JOIN asked a ON a.endpoint_id = g.endpoint_id
                 WHERE g.endpoint_id = c.endpoint_id) AS granted,
                -- the payload with one row of each message, the secrets with one row of each
                -- endpoint (`share` copies them to the others)
                row_number() OVER (PARTITION BY c.message_id) = 1 AS carries_payload,
                CASE WHEN row_number() OVER (PARTITION BY c.message_id) = 1 THEN m.payload END AS payload,
                m.content_type, m.traceparent, e.url, e.headers, e.disabled, e.throttle_rate, e.payload_format,
                (SELECT a.throttle_rate FROM applications a WHERE a.id = c.app_id) AS app_throttle_rate,
                e.consecutive_failures, e.circuit_open_until,
                row_number() OVER (PARTITION BY c.endpoint_id) = 1 AS carries_secrets,
                CASE WHEN row_number() OVER (PARTITION BY c.endpoint_id) = 1 THEN
                    ARRAY(SELECT s.ciphertext FROM endpoint_secrets s
                          WHERE s.endpoint_id = c.endpoint_id AND (s.expires_at IS NULL OR s.expires_at > now())
                          ORDER BY s.id DESC)
                ELSE '{}' END AS secrets
         FROM claimed c
         JOIN messages m ON m.id = c.message_id
         JOIN endpoints e ON e.id = c.endpoint_id")
    };
}

/// The claim statement of [`claim_due`]: `$1` limit, `$2` lease seconds, `$3`/`$4` the
/// endpoints with sends in flight and their free room, `$5` the per-endpoint cap, `$6` the
/// endpoints with no room left, `$7`/`$8` the worker's sends that ended (endpoint, lease).
/// The claim also reserves its sends in the shared count and ends the ended ones there: one
/// statement where there were two (the reservation was half the claim loop's round trips,
/// which doubled the time a delivery waited to be claimed on a busy database). `$6` is a parameter, not a subquery of `room`: the planner
/// cannot estimate `<> ALL` over a subquery's array and took it to match one row, so it
/// sorted the whole due backlog on every claim instead of walking the due index (a test
/// holds the plan to that). Public so that the test can explain it.
pub const CLAIM_SQL: &str = concat!(
    "WITH room AS (SELECT * FROM UNNEST($3::text[], $4::int[]) AS r(endpoint_id, free)),
         locked AS (
             SELECT id, message_id, endpoint_id, next_attempt_at FROM deliveries
             WHERE status = 1 AND next_attempt_at <= now()
               AND (leased_until IS NULL OR leased_until < now())
               AND endpoint_id <> ALL($6::text[])
             ORDER BY next_attempt_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED),
         -- of the locked rows, at most the room each endpoint has; the rest are not leased,
         -- and their row locks end with this statement
         due AS (
             SELECT l.id, l.message_id
             FROM (SELECT id, message_id, endpoint_id,
                          row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at) AS nth
                   FROM locked) l
             LEFT JOIN room r ON r.endpoint_id = l.endpoint_id
             WHERE l.nth <= coalesce(r.free, $5)),",
    claim_tail!()
);

/// Every endpoint with pending deliveries and its earliest one, found by a skip scan of the
/// `deliveries_pending_endpoint` index: one short index probe per endpoint, however many rows
/// each holds.
macro_rules! pending_endpoints {
    () => {
        "eps(endpoint_id, first_at) AS (
             (SELECT endpoint_id, next_attempt_at FROM deliveries WHERE status = 1
              ORDER BY endpoint_id, next_attempt_at LIMIT 1)
             UNION ALL
             SELECT n.endpoint_id, n.next_attempt_at
             FROM eps CROSS JOIN LATERAL (
                 SELECT endpoint_id, next_attempt_at FROM deliveries
                 WHERE status = 1 AND endpoint_id > eps.endpoint_id
                 ORDER BY endpoint_id, next_attempt_at LIMIT 1) n)"
    };
}

/// The claim of [`claim_due`] when endpoints are to be skipped (`$6`, same parameters as
/// [`CLAIM_SQL`]). It goes endpoint by endpoint, in the order of each one's earliest pending
/// row, and takes at most each one's room from its own index range, so a skipped endpoint's
/// backlog is never read. Walking the due index and filtering would read every due row of
/// the skipped endpoints first: with a large backlog at one of them, most of the table on
/// every claim. Public so that the test can explain it.
pub const CLAIM_SKIPPING_SQL: &str = concat!(
    "WITH RECURSIVE room AS (SELECT * FROM UNNEST($3::text[], $4::int[]) AS r(endpoint_id, free)),",
    pending_endpoints!(),
    ",
         cand AS (
             SELECT e.endpoint_id, e.first_at, coalesce(r.free, $5) AS free
             FROM eps e LEFT JOIN room r ON r.endpoint_id = e.endpoint_id
             WHERE e.first_at <= now() AND e.endpoint_id <> ALL($6::text[]) AND coalesce(r.free, $5) > 0
             ORDER BY e.first_at),
         locked AS (
             SELECT l.id, l.message_id, l.endpoint_id, l.next_attempt_at
             FROM cand c CROSS JOIN LATERAL (
                 -- the endpoint as a range rather than `=`, and ordered by it: only the
                 -- per-endpoint index gives this order, so the planner cannot walk the due
                 -- index instead (and read the skipped endpoints' rows) when it misjudges
                 -- how many rows each endpoint holds
                 SELECT id, message_id, endpoint_id, next_attempt_at FROM deliveries
                 WHERE status = 1 AND endpoint_id >= c.endpoint_id AND endpoint_id <= c.endpoint_id
                   AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
                 ORDER BY endpoint_id, next_attempt_at
                 LIMIT c.free
                 FOR UPDATE SKIP LOCKED) l
             LIMIT $1),
         due AS (SELECT id, message_id FROM locked),",
    claim_tail!()
);

/// Claims up to `limit` due deliveries with `FOR UPDATE SKIP LOCKED`, at most as many per
/// endpoint as `room` allows, leasing them for `lease_secs`, and reserves their sends in the
/// shared count (each row's `granted`), ending the sends `room` reports ended. The statement
/// commits on its own: no lock outlives it.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
    room: Room<'_>,
) -> sqlx::Result<Vec<ClaimedDelivery>> {
    let full: Vec<&str> = room
        .endpoints
        .iter()
        .zip(room.free)
        .filter(|(_, free)| **free <= 0)
        .map(|(id, _)| id.as_str())
        .collect();
    let sql = if full.is_empty() {
        CLAIM_SQL
    } else {
        CLAIM_SKIPPING_SQL
    };
    // Planned for its parameters every time (an unnamed statement, never cached): after five
    // runs PostgreSQL would otherwise settle on a generic plan, which cannot see the limit or
    // the endpoints to skip, and it chose to read and sort the whole due backlog (1.28 s a
    // claim with a million queued, against 5.5 ms planned for the values).
    let mut rows: Vec<ClaimedDelivery> = sqlx::query_as(sql)
        .persistent(false)
        .bind(limit)
        .bind(lease_secs)
        .bind(room.endpoints)
        .bind(room.free)
        .bind(room.cap)
        .bind(full)
        .bind(room.ended_endpoints)
        .bind(room.ended_leases)
        .fetch_all(db)
        .await?;
    share(&mut rows);
    Ok(rows)
}

/// When the next pending delivery falls due (lets an idle worker sleep exactly that long).
/// When the next delivery falls due, leaving out the endpoints in `full` (no room to send).
pub async fn next_due_at(db: impl PgExecutor<'_>, full: &[String]) -> sqlx::Result<Option<DateTime<Utc>>> {
    // Rows under a live lease are skipped: their expiry is covered by the poll interval.
    // Skipped endpoints are left out endpoint by endpoint, as in the claim, so that their
    // backlog is not read.
    let sql = if full.is_empty() {
        "SELECT min(next_attempt_at) FROM deliveries
         WHERE status = 1 AND (leased_until IS NULL OR leased_until < now())"
    } else {
        concat!(
            "WITH RECURSIVE ",
            pending_endpoints!(),
            "
             SELECT min(n.at) FROM eps e CROSS JOIN LATERAL (
                 -- a range, as in the claim, so that the per-endpoint index is used
                 SELECT next_attempt_at AS at FROM deliveries
                 WHERE status = 1 AND endpoint_id >= e.endpoint_id AND endpoint_id <= e.endpoint_id
                   AND (leased_until IS NULL OR leased_until < now())
                 ORDER BY endpoint_id, next_attempt_at LIMIT 1) n
             WHERE e.endpoint_id <> ALL($1::text[])"
        )
    };
    let q = sqlx::query_scalar(sql);
    let q = if full.is_empty() { q } else { q.bind(full) };
    q.fetch_one(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, msg: &str, ep: &str, payload: Option<&str>, secrets: Option<&[u8]>) -> ClaimedDelivery {
        ClaimedDelivery {
            id,
            org_id: "org".into(),
            app_id: "app".into(),
            message_id: msg.into(),
            endpoint_id: ep.into(),
            attempt_count: 0,
            next_trigger: 0,
            leased_until: Utc::now(),
            created_at: Utc::now(),
            carries_payload: payload.is_some(),
            payload: payload.map(str::to_string),
            content_type: None,
            url: "http://127.0.0.1/".into(),
            headers: Json(Map::new()),
            payload_format: 0,
            disabled: false,
            throttle_rate: None,
            app_throttle_rate: None,
            consecutive_failures: 0,
            circuit_open_until: None,
            throttle_slot: false,
            locked_count: 0,
            carries_secrets: secrets.is_some(),
            secrets: secrets.map(|s| vec![s.to_vec()]).unwrap_or_default(),
            traceparent: None,
            granted: None,
        }
    }

    #[test]
    fn every_row_gets_its_messages_payload_and_its_endpoints_secrets() {
        let mut rows = vec![
            row(1, "msg_a", "ep_1", Some("{\"a\":1}"), Some(b"k1")),
            row(2, "msg_a", "ep_2", None, Some(b"k2")),
            row(3, "msg_b", "ep_1", Some("{\"b\":2}"), None),
            row(4, "msg_b", "ep_2", None, None),
        ];
        share(&mut rows);
        let got: Vec<(&str, &[u8])> = rows
            .iter()
            .map(|r| (r.payload.as_deref().unwrap(), r.secrets[0].as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("{\"a\":1}", b"k1".as_slice()),
                ("{\"a\":1}", b"k2".as_slice()),
                ("{\"b\":2}", b"k1".as_slice()),
                ("{\"b\":2}", b"k2".as_slice()),
            ]
        );
    }

    #[test]
    fn an_expunged_payload_stays_missing_on_every_row() {
        let mut carrier = row(1, "msg_a", "ep_1", None, Some(b"k1"));
        carrier.carries_payload = true; // the message's payload is gone (retention)
        let mut rows = vec![carrier, row(2, "msg_a", "ep_2", None, Some(b"k2"))];
        share(&mut rows);
        assert!(rows.iter().all(|r| r.payload.is_none()));
    }
}
