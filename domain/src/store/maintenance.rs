//! Purging records that have outlived their use: idempotency records (after a day, as in
//! Svix), expired portal tokens, login failures older than the login throttle's window,
//! background tasks older than the lists' window, and test inboxes once they expire. Deletes
//! go in small batches, oldest first, on an index, so a sweep never holds many row locks or
//! scans a large table.
use sqlx::PgExecutor;

/// What one table keeps: rows whose `column` is older than `age` are purged.
struct Rule {
    table: &'static str,
    column: &'static str,
    age: &'static str,
}

const RULES: [Rule; 5] = [
    Rule {
        table: "idempotency_keys",
        column: "created_at",
        age: "24 hours",
    },
    Rule {
        table: "portal_tokens",
        column: "expires_at",
        age: "1 hour",
    },
    Rule {
        table: "login_failures",
        column: "failed_at",
        age: "1 day",
    },
    Rule {
        table: "background_tasks",
        column: "created_at",
        age: "90 days",
    },
    // with what they received
    Rule {
        table: "inboxes",
        column: "expires_at",
        age: "0 seconds",
    },
];

/// The tables [`purge_batch`] is called for, by index.
pub const TABLES: [&str; 5] = [
    RULES[0].table,
    RULES[1].table,
    RULES[2].table,
    RULES[3].table,
    RULES[4].table,
];

/// Deletes up to `limit` expired rows of `TABLES[table]`, skipping rows another sweeper holds.
/// Returns how many went.
pub async fn purge_batch(db: impl PgExecutor<'_>, table: usize, limit: i64) -> sqlx::Result<u64> {
    let Rule { table, column, age } = &RULES[table];
    let r = sqlx::query(&format!(
        "DELETE FROM {table} WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM {table} WHERE {column} < now() - interval '{age}'
             ORDER BY {column} LIMIT $1 FOR UPDATE SKIP LOCKED))"
    ))
    .bind(limit)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
