//! The message history's partitions. `messages`, `deliveries` and `attempts` are partitioned
//! by message id (time-ordered), each partition a span of whole days, the three tables'
//! partitions sharing bounds and a name suffix (`messages_p20261204`, `deliveries_p20261204`,
//! ... named by the first day). Hookline keeps the coming days' partitions made ahead of time,
//! and retention drops a span's three partitions at once when its newest message is older than
//! the retention: removing a span costs the same whatever the tables hold.
//!
//! The span grows with the retention so that there are about [`TARGET_PARTITIONS`] of them:
//! every statement that cannot be confined to one partition (the claim, the queue gauges)
//! plans for and locks each partition, and with 98 daily ones (90 days' retention) delivery
//! fell from about 1,300 to 340 a second on the benchmark box.
//!
//! The ranges are contiguous: each new partition starts where the last one ends, so the first
//! one (`p0`, made by the migration, holding what was there before) needs no day boundary.
use crate::ids;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sqlx::{PgExecutor, PgPool};

/// The partitioned tables, in the order a day is dropped.
pub const TABLES: [&str; 3] = ["attempts", "deliveries", "messages"];

/// The storage parameters of a deliveries partition: room on each page for the claim's and
/// the record's updates to stay HOT, and autovacuum by a small fraction of the partition. The
/// claim walks the due index from its oldest entry, and every delivery that ended since the
/// last vacuum leaves a dead entry there: with PostgreSQL's default (a fifth of the table)
/// the walk grew through a run, and the first claims on a new, never-analysed partition read
/// and sorted the whole due backlog. At a hundredth, vacuum's cost per delivery stays the same
/// at any partition size (a partition ten times larger is vacuumed a tenth as often) and the
/// dead run is a hundredth of the partition at most. (Migration 20261210000001 gives the
/// partitions made before this the same.)
pub const DELIVERIES_STORAGE: &str = " WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, \
    autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000)";

/// How many days ahead partitions are kept made (a process that cannot make them for a while,
/// say while the database is away, still finds today's).
pub const DAYS_AHEAD: i64 = 7;

/// About how many partitions the retention is split into.
pub const TARGET_PARTITIONS: i64 = 8;

/// How the history is cut: days per partition, and how far ahead partitions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub days_per_partition: i64,
    pub days_ahead: i64,
}

impl Layout {
    /// One day per partition (tests, and the repair of a missing day at insert time).
    pub const DAILY: Layout = Layout {
        days_per_partition: 1,
        days_ahead: DAYS_AHEAD,
    };

    /// Spans of whole days, about [`TARGET_PARTITIONS`] of them within `retention`: 1 day up
    /// to 8 days' retention, 12 days for 90 days', 46 for a year's. A message is then kept
    /// between the retention and the retention plus one span.
    pub fn for_retention(retention: std::time::Duration) -> Layout {
        let days = retention.as_secs().div_ceil(86_400).max(1);
        Layout {
            // capped at ten years: a span must stay a representable time
            days_per_partition: days.div_ceil(TARGET_PARTITIONS as u64).min(3650) as i64,
            days_ahead: DAYS_AHEAD,
        }
    }
}

/// One day of the history (the same bounds in each of [`TABLES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// `p0`, `p20261204`, ...
    pub suffix: String,
    /// Inclusive; `None` is MINVALUE.
    pub lower: Option<String>,
    /// Exclusive.
    pub upper: String,
}

impl Partition {
    /// The time of the newest message the partition can hold (its upper bound's time): the
    /// partition may go once this is past retention. `None` for a bound that is no id (the
    /// empty first partition of a new database).
    pub fn newest_at(&self) -> Option<DateTime<Utc>> {
        ids::id_time_millis(&self.upper).and_then(DateTime::from_timestamp_millis)
    }
}

/// The partitions of the history, oldest first.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Partition>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'messages'::regclass",
    )
    .fetch_all(db)
    .await?;
    let mut out: Vec<Partition> = rows
        .into_iter()
        .filter_map(|(name, bound)| {
            let suffix = name.strip_prefix("messages_")?.to_owned();
            let (lower, upper) = parse_bound(&bound)?;
            Some(Partition { suffix, lower, upper })
        })
        .collect();
    out.sort_by(|a, b| a.upper.cmp(&b.upper));
    Ok(out)
}

/// `FOR VALUES FROM ('a') TO ('b')` (or `FROM (MINVALUE)`) → `(Some("a"), "b")`.
fn parse_bound(bound: &str) -> Option<(Option<String>, String)> {
    let (from, to) = bound.split_once(" TO ")?;
    let quoted = |s: &str| {
        let start = s.find('\'')? + 1;
        let end = s[start..].find('\'')? + start;
        Some(s[start..end].to_owned())
    };
    let lower = if from.contains("MINVALUE") {
        None
    } else {
        Some(quoted(from)?)
    };
    Some((lower, quoted(to)?))
}

/// The partitions to make so that every message id up to the end of `now`'s day plus
/// `days_ahead` days has one, after `existing` (oldest first). Pure, for tests.
pub fn to_create(existing: &[Partition], now: DateTime<Utc>, layout: Layout) -> Vec<Partition> {
    let day_start = |t: DateTime<Utc>| t.date_naive().and_time(NaiveTime::MIN).and_utc();
    let target = day_start(now) + Duration::days(layout.days_ahead + 1);
    let mut out = Vec::new();
    let (mut lower, mut from) = match existing.last() {
        Some(p) => (p.upper.clone(), p.newest_at().unwrap_or(now)),
        // no partition at all (not made by the migration): start with today
        None => (format!("{}_", ids::MESSAGE), now),
    };
    while from < target {
        let day = day_start(from);
        let end = day + Duration::days(layout.days_per_partition.max(1));
        let upper = ids::id_floor_at(ids::MESSAGE, end.timestamp_millis());
        if upper <= lower {
            break; // cannot happen with a sane clock; never make an empty or inverted range
        }
        out.push(Partition {
            suffix: format!("p{}", day.format("%Y%m%d")),
            lower: Some(lower),
            upper: upper.clone(),
        });
        lower = upper;
        from = end;
    }
    out
}

/// The partitions whose newest message is older than `retention` at `now`, oldest first; the
/// empty first partition of a new database (bounded by no id) goes too. The newest partition
/// always stays: new messages need somewhere to go. Pure, for tests.
pub fn expired(existing: &[Partition], now: DateTime<Utc>, retention: Duration) -> Vec<Partition> {
    let keep_last = existing.len().saturating_sub(1);
    existing[..keep_last]
        .iter()
        // a retention too long to add to a date never expires anything
        .take_while(|p| {
            p.newest_at()
                .is_none_or(|t| t.checked_add_signed(retention).is_some_and(|t| t <= now))
        })
        .cloned()
        .collect()
}

/// Every statement that changes partitions waits at most this long for a lock, and is tried
/// again at the next sweep, rather than queue the ingest and delivery behind it.
const LOCK_TIMEOUT: &str = "2s";

/// Serialises the partition changes of every Hookline process on the database (an advisory
/// lock; the number is arbitrary and Hookline's own).
const DDL_LOCK: i64 = 0x686f_6f6b_6c69_6e65;

/// The database's clock: partitions are cut and expired by it, not by a process's own clock
/// (a worker whose clock ran days ahead would otherwise drop days still within retention).
pub async fn db_now(db: impl PgExecutor<'_>) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar("SELECT now()").fetch_one(db).await
}

/// Makes the partitions [`to_create`] names, in one transaction under [`DDL_LOCK`] (so that
/// processes starting together do not make the same span twice). Each partition is made as a
/// table, then attached: attaching locks the parent only against other schema changes, where
/// `CREATE TABLE … PARTITION OF` would lock out every insert and could deadlock with one.
/// Returns how many spans were made.
pub async fn ensure(pool: &PgPool, now: DateTime<Utc>, layout: Layout) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DDL_LOCK)
        .execute(&mut *tx)
        .await?;
    let missing = to_create(&list(&mut *tx).await?, now, layout);
    for p in &missing {
        let lower = match &p.lower {
            Some(l) => literal(l)?,
            None => "MINVALUE".to_owned(),
        };
        let upper = literal(&p.upper)?;
        for table in TABLES {
            let name = format!("{table}_{}", checked_suffix(&p.suffix)?);
            let storage = if table == "deliveries" {
                DELIVERIES_STORAGE
            } else {
                ""
            };
            sqlx::query(&format!(
                "CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){storage}"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(missing.len())
}

/// [`ensure`] as of the database's clock now.
pub async fn ensure_now(pool: &PgPool, layout: Layout) -> sqlx::Result<usize> {
    ensure(pool, db_now(pool).await?, layout).await
}

/// Removes up to `limit` event ids of messages below `lower` (the oldest partition's lower
/// bound: their messages are gone). Returns how many went.
pub async fn purge_event_ids(db: impl PgExecutor<'_>, lower: &str, limit: i64) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "DELETE FROM message_event_ids WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM message_event_ids WHERE message_id < $1
             ORDER BY message_id LIMIT $2 FOR UPDATE SKIP LOCKED))",
    )
    .bind(lower)
    .bind(limit)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Drops a span's partitions of the three tables: each is detached `CONCURRENTLY` (which
/// waits for the queries using it instead of locking the parent against them), then dropped.
/// Attempts and deliveries go first, the messages last, so a span is listed until all three
/// are gone; a drop interrupted half-way is finished by the next one.
pub async fn drop(pool: &PgPool, p: &Partition) -> sqlx::Result<()> {
    let mut session = DdlSession::start(pool).await?;
    let conn = session.conn();
    let result = async {
        for table in TABLES {
            let name = format!("{table}_{}", checked_suffix(&p.suffix)?);
            // NULL: not attached (any more); false: attached; true: a detach was interrupted
            let pending: Option<bool> = sqlx::query_scalar(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass($1)",
            )
            .bind(&name)
            .fetch_optional(&mut *conn)
            .await?;
            let detach = match pending {
                Some(false) => Some("CONCURRENTLY"),
                Some(true) => Some("FINALIZE"),
                None => None,
            };
            if let Some(how) = detach {
                sqlx::query(&format!("ALTER TABLE {table} DETACH PARTITION {name} {how}"))
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
    .await;
    session.end().await;
    result
}

/// Drops the history tables left detached by a [`drop`] that died between its detach and
/// its drop (the span is no longer listed, so no later drop would find them). Under the same
/// lock as every partition change, so a table being made is never taken for one. Returns
/// their names.
pub async fn drop_orphans(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    let mut session = DdlSession::start(pool).await?;
    let conn = session.conn();
    let result = async {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r'
               AND c.relname ~ '^(messages|deliveries|attempts)_p[0-9]+$'
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
             ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await?;
        for name in &names {
            let (table, suffix) = name.split_once('_').unwrap_or_default();
            if !TABLES.contains(&table) {
                continue;
            }
            sqlx::query(&format!(
                "DROP TABLE IF EXISTS {table}_{}",
                checked_suffix(suffix)?
            ))
            .execute(&mut *conn)
            .await?;
        }
        Ok(names)
    }
    .await;
    session.end().await;
    result
}

/// A connection holding [`DDL_LOCK`] (a session lock, for statements such as `DETACH …
/// CONCURRENTLY` that cannot run in a transaction), with a lock timeout. Given back to the
/// pool only by [`DdlSession::end`]: dropped before that (its future cancelled, as a worker
/// that stops aborts its sweeper), the connection is closed, so that the session's lock goes
/// with it instead of staying held by a pooled connection and failing every later partition
/// change of every process on the database.
struct DdlSession {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl DdlSession {
    async fn start(pool: &PgPool) -> sqlx::Result<Self> {
        let mut session = Self {
            conn: Some(pool.acquire().await?),
        };
        sqlx::query(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))
            .execute(session.conn())
            .await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(DDL_LOCK)
            .execute(session.conn())
            .await?;
        Ok(session)
    }

    fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.conn
            .as_mut()
            .expect("a DDL session's connection until it ends")
    }

    /// Gives the connection back to the pool as it found it.
    async fn end(mut self) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(DDL_LOCK)
            .execute(self.conn())
            .await;
        let reset = sqlx::query("RESET lock_timeout").execute(self.conn()).await;
        if unlocked.is_ok() && reset.is_ok() {
            std::mem::drop(self.conn.take()); // back to the pool
        }
        // else dropped here: closed, as a connection in an unknown state
    }
}

impl Drop for DdlSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            std::mem::drop(conn.detach()); // closing the session ends its lock
        }
    }
}

/// A bound as an SQL literal. Bounds are ids (`msg_` and base62) made here, but they are read
/// back from the catalogue, so anything else is refused rather than quoted.
fn literal(s: &str) -> sqlx::Result<String> {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(format!("'{s}'"))
    } else {
        Err(sqlx::Error::Protocol(format!(
            "partition bound {s:?} is not an id"
        )))
    }
}

/// A partition name's suffix (`p0`, `p20261204`), refused if it is anything else.
fn checked_suffix(s: &str) -> sqlx::Result<&str> {
    let ok = s.len() > 1 && s.starts_with('p') && s[1..].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(s)
    } else {
        Err(sqlx::Error::Protocol(format!(
            "partition suffix {s:?} is not Hookline's"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn bounds_are_read_from_the_catalogue_text() {
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO ('msg_')"),
            Some((None, "msg_".into()))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM ('msg_a') TO ('msg_b')"),
            Some((Some("msg_a".into()), "msg_b".into()))
        );
    }

    #[test]
    fn days_are_made_contiguously_from_the_last_partition_up_to_the_days_ahead() {
        let first = Partition {
            suffix: "p0".into(),
            lower: None,
            upper: "msg_".into(),
        };
        let now = at(2026, 12, 4, 15);
        let two_ahead = Layout {
            days_per_partition: 1,
            days_ahead: 2,
        };
        let made = to_create(std::slice::from_ref(&first), now, two_ahead);
        let names: Vec<&str> = made.iter().map(|p| p.suffix.as_str()).collect();
        assert_eq!(names, ["p20261204", "p20261205", "p20261206"]);
        assert_eq!(made[0].lower.as_deref(), Some("msg_"));
        for w in made.windows(2) {
            assert_eq!(w[0].upper, *w[1].lower.as_ref().unwrap(), "ranges are contiguous");
        }
        // an id made at any time of the 6th sorts inside the last partition
        let late = ids::id_floor_at(ids::MESSAGE, at(2026, 12, 6, 23).timestamp_millis());
        assert!(made[2].lower.as_deref().unwrap() <= late.as_str() && late < made[2].upper);
        // made again later: only the new days, continuing from the last one
        let mut all = vec![first];
        all.extend(made);
        let next = to_create(&all, at(2026, 12, 5, 1), two_ahead);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].suffix, "p20261207");
        assert_eq!(next[0].lower.as_ref(), Some(&all[3].upper));
        assert!(
            to_create(&all, now, two_ahead).is_empty(),
            "nothing when all days exist"
        );
    }

    #[test]
    fn a_day_goes_when_its_newest_message_is_past_retention_and_the_newest_day_never_goes() {
        let first = Partition {
            suffix: "p0".into(),
            lower: None,
            upper: "msg_".into(),
        };
        let mut all = vec![first];
        let layout = Layout {
            days_per_partition: 1,
            days_ahead: 3,
        };
        all.extend(to_create(&all.clone(), at(2026, 12, 1, 12), layout));
        let week = Duration::days(7);
        // Dec 1 ends at midnight Dec 2: it may go from Dec 9, 00:00
        let gone = expired(&all, at(2026, 12, 8, 23), week);
        assert_eq!(gone.iter().map(|p| p.suffix.as_str()).collect::<Vec<_>>(), ["p0"]);
        let gone = expired(&all, at(2026, 12, 9, 0), week);
        assert_eq!(gone.len(), 2);
        assert_eq!(gone[1].suffix, "p20261201");
        let gone = expired(&all, at(2027, 6, 1, 0), week);
        assert_eq!(gone.len(), all.len() - 1, "the newest stays");
    }

    #[test]
    fn longer_retentions_are_cut_into_wider_spans_of_whole_days() {
        let days =
            |d: u64| Layout::for_retention(std::time::Duration::from_secs(d * 86_400)).days_per_partition;
        assert_eq!((days(1), days(7), days(8), days(9)), (1, 1, 1, 2));
        assert_eq!((days(30), days(90), days(365)), (4, 12, 46));
        let layout = Layout::for_retention(std::time::Duration::from_secs(90 * 86_400));
        let first = Partition {
            suffix: "p0".into(),
            lower: None,
            upper: "msg_".into(),
        };
        let made = to_create(&[first], at(2026, 12, 4, 15), layout);
        let names: Vec<&str> = made.iter().map(|p| p.suffix.as_str()).collect();
        assert_eq!(names, ["p20261204"], "one span covers today and the week ahead");
        let end = ids::id_floor_at(ids::MESSAGE, at(2026, 12, 16, 0).timestamp_millis());
        assert_eq!(made[0].upper, end);
    }
}
