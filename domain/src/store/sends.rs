//! The sends in flight to each endpoint across every worker process (see the migration
//! `endpoint_sends`): reserved before a send starts, ended when the worker that made it next
//! reserves (or stops), and gone by themselves when their lease runs out (the worker died).
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// One endpoint's part in a [`reserve`]: sends that ended, and sends wanted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The lease of each send of this worker that ended since its last reservation.
    pub ended: Vec<DateTime<Utc>>,
    /// How many more sends to start (0: only end those).
    pub asked: i32,
    /// How long the new sends are held: their deliveries' lease.
    pub lease: Option<DateTime<Utc>>,
}

/// Ends the sends in `ended` and reserves the sends asked for, per endpoint, so that no
/// endpoint has more than `cap` in flight across all workers. Returns each endpoint's grant,
/// between 0 and its ask; an endpoint that is gone is left out. One statement: rows are locked
/// in endpoint order, so concurrent reservations cannot deadlock, and on conflict each row is
/// the newest version, locked, whatever the statement's snapshot, so a reservation made
/// meanwhile by another worker is counted.
pub async fn reserve(
    db: impl PgExecutor<'_>,
    requests: &[(String, Request)],
    cap: i32,
) -> sqlx::Result<Vec<(String, i32)>> {
    let endpoints: Vec<&str> = requests.iter().map(|(e, _)| e.as_str()).collect();
    let asked: Vec<i32> = requests.iter().map(|(_, r)| r.asked.max(0)).collect();
    let leases: Vec<Option<DateTime<Utc>>> = requests.iter().map(|(_, r)| r.lease).collect();
    // ended leases flattened, with the index of their request
    let (ended_of, ended): (Vec<i32>, Vec<DateTime<Utc>>) = requests
        .iter()
        .enumerate()
        .flat_map(|(i, (_, r))| r.ended.iter().map(move |l| (i as i32, *l)))
        .unzip();
    sqlx::query_as(concat!(
        "WITH req AS (
             SELECT r.endpoint_id, r.asked, r.lease,
                    ARRAY(SELECT e.lease FROM UNNEST($4::int[], $5::timestamptz[]) AS e(i, lease)
                          WHERE e.i = r.ord - 1) AS ended
             FROM UNNEST($1::text[], $2::int[], $3::timestamptz[]) WITH ORDINALITY AS r(endpoint_id, asked, lease, ord))
         ",
        ledger_upsert!("$6")
    ))
    .bind(endpoints)
    .bind(asked)
    .bind(leases)
    .bind(ended_of)
    .bind(ended)
    .bind(cap.max(1))
    .fetch_all(db)
    .await
}
