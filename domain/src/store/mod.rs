//! The PostgreSQL store: the only place SQL lives. Functions take an executor so the caller
//! owns the transaction, and every tenant-owned query is scoped by `org_id` (or by a parent id
//! that was itself resolved under the organisation).

/// The shared per-endpoint count's upsert (`store::sends`), used by `sends::reserve` and by the
/// claim: from a relation `req (endpoint_id, asked, lease, ended)` it ends each endpoint's
/// `ended` sends and reserves up to `asked` more within the cap (the parameter named by
/// `$cap`, such as `"$5"`), returning `(endpoint_id, last_grant)`. Rows are locked in endpoint
/// order, so concurrent reservations cannot deadlock, and on conflict each row is the newest
/// version, locked, whatever the statement's snapshot.
macro_rules! ledger_upsert {
    ($cap:literal) => {
        concat!(
            "INSERT INTO endpoint_sends AS s (endpoint_id, leases, last_grant)
             SELECT r.endpoint_id, endpoint_sends_add('{}', r.asked, r.lease, ", $cap, "), least(r.asked, ", $cap, ")
             FROM req r
             WHERE EXISTS (SELECT 1 FROM endpoints e WHERE e.id = r.endpoint_id)
             ORDER BY r.endpoint_id
             ON CONFLICT (endpoint_id) DO UPDATE
             SET leases = endpoint_sends_add(
                     endpoint_sends_without(s.leases, (SELECT r.ended FROM req r WHERE r.endpoint_id = s.endpoint_id)),
                     EXCLUDED.last_grant, EXCLUDED.leases[1], ", $cap, "),
                 last_grant = greatest(0, least(EXCLUDED.last_grant, ", $cap, " - cardinality(
                     endpoint_sends_without(s.leases, (SELECT r.ended FROM req r WHERE r.endpoint_id = s.endpoint_id)))))
             RETURNING endpoint_id, last_grant"
        )
    };
}

pub mod applications;
pub mod attempts;
pub mod audit;
pub mod claim;
pub mod deliveries;
pub mod endpoints;
pub mod event_types;
pub mod idempotency;
pub mod inboxes;
pub mod ingest;
pub mod maintenance;
pub mod members;
pub mod messages;
pub mod operational;
pub mod orgs;
pub mod overview;
pub mod partition_indexes;
pub mod partitions;
pub mod sends;
pub mod sessions;
pub mod tasks;
pub mod users;

use crate::types::{ListResponse, Ordering};

pub type Db = sqlx::PgPool;

/// The migrations, embedded in the binary; a failed migration stops boot.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Brings the schema up to date: the migrations, then the message history's partitions for
/// today and the coming days (see [`partitions`]), without which no message can be stored.
pub async fn migrate(
    pool: &sqlx::PgPool,
    layout: partitions::Layout,
) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    // Not fatal: another process may be making them (or hold a lock a while); the sweeps try
    // again, and an insert that finds its day missing makes it.
    if let Err(e) = partitions::ensure_now(pool, layout).await {
        tracing::warn!(error = %e, "making the coming days' partitions failed; will try again");
    }
    Ok(())
}

/// Channel that ingest NOTIFYs and workers LISTEN on.
pub const DELIVERY_CHANNEL: &str = "hookline_deliveries";

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 250;

/// A keyset page request over time-ordered ids. An iterator starting with `-` (as in Svix's
/// `prevIterator`) walks backwards from that id.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: i64,
    pub iterator: Option<String>,
    pub order: Ordering,
}

impl Page {
    pub fn new(limit: Option<i64>, iterator: Option<String>, order: Ordering) -> Self {
        Self {
            limit: limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            iterator: iterator.filter(|s| !s.is_empty() && s != "-"),
            order,
        }
    }

    /// (cursor, walking backwards?)
    fn cursor(&self) -> (Option<&str>, bool) {
        match self.iterator.as_deref() {
            Some(it) if it.starts_with('-') => (Some(&it[1..]), true),
            Some(it) => (Some(it), false),
            None => (None, false),
        }
    }

    /// Appends `AND <col> > cursor ORDER BY <col> ... LIMIT n+1` for this page.
    pub fn push_keyset<'a>(&'a self, qb: &mut sqlx::QueryBuilder<'a, sqlx::Postgres>, col: &str) {
        let (cursor, backwards) = self.cursor();
        let ascending = matches!(self.order, Ordering::Ascending) != backwards;
        if let Some(c) = cursor {
            qb.push(format!(" AND {col} {} ", if ascending { ">" } else { "<" }));
            qb.push_bind(c);
        }
        qb.push(format!(
            " ORDER BY {col} {} LIMIT ",
            if ascending { "ASC" } else { "DESC" }
        ));
        qb.push_bind(self.limit + 1);
    }

    /// Turns the `limit + 1` rows fetched by [`Page::push_keyset`] into a `ListResponse`.
    pub fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> String) -> ListResponse<T> {
        let (_, backwards) = self.cursor();
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        if backwards {
            rows.reverse();
        }
        let first = rows.first().map(&id);
        let last = rows.last().map(&id);
        // The Svix SDKs require `iterator` to be a string, so an empty page repeats the cursor.
        let iterator = last.or_else(|| self.iterator.clone()).unwrap_or_default();
        ListResponse {
            data: rows,
            iterator: Some(iterator),
            prev_iterator: first.map(|f| format!("-{f}")),
            // in either direction: nothing further that way
            done: !more,
        }
    }
}

/// True when `e` is a unique-constraint violation (mapped to 409 by callers).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// True when a row had no partition to go to (the history's partition for its day is missing).
pub fn is_missing_partition(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().as_deref() == Some("23514") && d.message().starts_with("no partition of relation"))
}

/// True when `e` means the database cannot be reached or is not taking work now (down,
/// restarting, out of connections), rather than that the query was wrong: the caller should
/// try again later, and nothing about the request was at fault.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => true,
        // 08: connection exception (but 08P01, a protocol violation, is a bug); 57P01-03:
        // shutting down, crashed, starting up; 53300: too many connections; 25006: a read-only
        // standby (a failover in progress)
        E::Database(d) => d.code().is_some_and(|c| {
            (c.starts_with("08") && c != "08P01")
                || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300" | "25006")
        }),
        _ => false,
    }
}

/// How Hookline connects to `url`: with JIT compilation off for its sessions. Its statements
/// are short index walks, but with a large backlog the planner's cost estimate for the claim
/// passes `jit_above_cost`, and PostgreSQL then compiled it on every run: 480 ms of a
/// 497 ms claim with 150,000 deliveries queued (1.6 ms without), which held a drain after
/// an outage to 44 deliveries a second.
pub fn connect_options(url: &str) -> sqlx::Result<sqlx::postgres::PgConnectOptions> {
    Ok(url
        .parse::<sqlx::postgres::PgConnectOptions>()?
        .options([("jit", "off")]))
}

/// A round trip to the database (health checks).
pub async fn ping(db: &Db) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

/// True when the database compares text byte-wise (collation C or POSIX). Ids sort by time
/// only byte-wise, so lists and time windows over ids assume it.
pub async fn sorts_bytewise(db: &Db) -> sqlx::Result<bool> {
    let collation: String =
        sqlx::query_scalar("SELECT datcollate::text FROM pg_database WHERE datname = current_database()")
            .fetch_one(db)
            .await?;
    Ok(matches!(collation.as_str(), "C" | "POSIX" | "C.UTF-8" | "C.utf8"))
}
