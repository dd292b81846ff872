//! Indexes on the partitioned history, built without stopping writes. A migration that adds
//! an index to the history makes it `ON ONLY` the parent table: that is instant, and the
//! parent's index stays invalid until every partition has its own. [`build_missing`] then
//! builds each partition's index `CONCURRENTLY` (messages keep arriving meanwhile) and
//! attaches it; with the last one attached, PostgreSQL marks the parent's index valid. A
//! partition made later gets every index of its parent when it is attached
//! (`partitions::ensure`). A plain `CREATE INDEX` on the parent would block every insert for
//! as long as it takes to index the whole history: minutes for a week of busy traffic.
use super::partitions::TABLES;
use sqlx::{Connection, PgExecutor, PgPool};

/// The history's indexes that migrations make `ON ONLY` the parent, for [`build_missing`] to
/// complete. Only these: an invalid partitioned index of anyone else's is left alone.
pub const BUILT_PER_PARTITION: [&str; 2] = ["messages_payload_fields", "messages_payload_words"];

/// Held (as a session lock) by the one process building: the others skip their turn. Not the
/// partitions' lock, which making tomorrow's partition must not wait behind a long build for.
const INDEX_LOCK: i64 = 0x686f_6f6b_6c69_6e66;

/// A partition lacking its part of a parent's index.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Missing {
    /// The parent's (partitioned) index, e.g. `messages_payload_fields`.
    pub parent_index: String,
    /// The parent table, e.g. `messages`.
    pub table: String,
    /// The partition, e.g. `messages_p20261208`.
    pub partition: String,
    /// The parent index's definition from `USING` on (method, columns or expressions, WHERE).
    pub definition: String,
}

impl Missing {
    /// The partition's index: the partition's name and what the parent's name adds to its
    /// table's (`messages_p20261208_payload_fields`).
    pub fn child_name(&self) -> String {
        let what = self
            .parent_index
            .strip_prefix(&format!("{}_", self.table))
            .unwrap_or(&self.parent_index);
        format!("{}_{what}", self.partition)
    }
}

/// Names read back from the catalogue go into DDL text: only Hookline's plain names do.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every partition of the history's tables that lacks its part of one of the
/// [`BUILT_PER_PARTITION`] indexes.
pub async fn missing(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Missing>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT ic.relname::text, tc.relname::text, pc.relname::text, pg_get_indexdef(pi.indexrelid)
         FROM pg_index pi
         JOIN pg_class ic ON ic.oid = pi.indexrelid AND ic.relkind = 'I'
         JOIN pg_class tc ON tc.oid = pi.indrelid
         CROSS JOIN LATERAL pg_partition_tree(pi.indrelid) part
         JOIN pg_class pc ON pc.oid = part.relid
         WHERE NOT pi.indisvalid AND part.isleaf AND ic.relname = ANY($2)
           AND tc.relnamespace = current_schema()::regnamespace AND tc.relname = ANY($1)
           AND NOT EXISTS (
               SELECT 1 FROM pg_inherits inh JOIN pg_index ci ON ci.indexrelid = inh.inhrelid
               WHERE inh.inhparent = pi.indexrelid AND ci.indrelid = part.relid)
         ORDER BY pc.relname DESC, ic.relname",
    )
    .bind(&TABLES[..])
    .bind(&BUILT_PER_PARTITION[..])
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(parent_index, table, partition, def)| {
            let at = def.find(" USING ")?;
            Some(Missing {
                definition: def[at + 1..].to_string(),
                parent_index,
                table,
                partition,
            })
        })
        .collect())
}

/// Builds and attaches every missing partition index, newest partition first (the days a
/// search reads most), unless another process is doing it. Returns how many were built.
pub async fn build_missing(pool: &PgPool) -> sqlx::Result<usize> {
    if missing(pool).await?.is_empty() {
        return Ok(0);
    }
    // A connection of its own, closed when dropped: the session lock ends with it, whatever
    // stops this midway, and never stays held by a pooled connection.
    let mut conn = pool.acquire().await?.detach();
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(INDEX_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if !locked {
        return Ok(0);
    }
    let mut built = 0;
    for m in missing(&mut conn).await? {
        // one partition's failure (a lock not had in time, a partition dropped meanwhile) is
        // retried at the next sweep, and does not hold back the older partitions
        match build_one(&mut conn, &m).await {
            Ok(child) => {
                tracing::info!(index = %child, "built a partition's index");
                built += 1;
            }
            Err(e) => {
                tracing::warn!(index = %m.parent_index, partition = %m.partition, error = %e,
                    "building a partition's index failed; will try again")
            }
        }
    }
    conn.close().await?;
    Ok(built)
}

/// Builds one partition's index and attaches it; returns its name.
async fn build_one(conn: &mut sqlx::PgConnection, m: &Missing) -> sqlx::Result<String> {
    let child = m.child_name();
    if ![&m.parent_index, &m.partition, &child].iter().all(|n| plain(n)) {
        return Err(sqlx::Error::Protocol(format!(
            "{} on {} is not a Hookline name",
            m.parent_index, m.partition
        )));
    }
    // The builds wait for the transactions already running to end, however long they take
    // (a slow report must not make hours of indexing start over); they block no insert.
    sqlx::query("SET lock_timeout = 0").execute(&mut *conn).await?;
    // a build stopped midway leaves an invalid index of that name behind
    let invalid: Option<bool> =
        sqlx::query_scalar("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)")
            .bind(&child)
            .fetch_optional(&mut *conn)
            .await?;
    if invalid == Some(true) {
        sqlx::query(&format!("DROP INDEX CONCURRENTLY IF EXISTS {child}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {child} ON {} {}",
        m.partition, m.definition
    ))
    .execute(&mut *conn)
    .await?;
    // attaching must not queue behind a long lock (and hold up every insert behind it)
    sqlx::query("SET lock_timeout = '2s'").execute(&mut *conn).await?;
    sqlx::query(&format!(
        "ALTER INDEX {} ATTACH PARTITION {child}",
        m.parent_index
    ))
    .execute(&mut *conn)
    .await?;
    Ok(child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_index_is_named_after_its_partition_and_parent() {
        let m = Missing {
            parent_index: "messages_payload_fields".into(),
            table: "messages".into(),
            partition: "messages_p20261208".into(),
            definition: "USING gin (x)".into(),
        };
        assert_eq!(m.child_name(), "messages_p20261208_payload_fields");
        assert!(plain(&m.child_name()));
        assert!(!plain("messages; DROP TABLE x"));
        assert!(!plain(&"a".repeat(64)));
    }
}
