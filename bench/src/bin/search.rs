//! Message search on a large history: fills a real PostgreSQL with Hookline's schema with N
//! messages (default 1,000,000 over 7 daily partitions, 90% of them in the searched
//! application), then times searches (`domain::search`) through the store's own message
//! listing, first page of 50 newest, and shows which indexes the plan reads.
//!
//! `cargo run --release -p bench --bin search -- --messages 1000000`
//!
//! With `--no-search-indexes` the two search indexes are dropped before the fill: the fill
//! rate then shows what maintaining them costs each insert (the searches are not run).
use anyhow::Context;
use chrono::{Duration, Utc};
use clap::Parser;
use domain::ids::{id_floor_at, MESSAGE};
use domain::store::{messages, partitions, Page};
use domain::types::Ordering;
use sqlx::Execute;
use std::time::Instant;

#[path = "../scratch_pg.rs"]
mod scratch_pg;
use scratch_pg::ScratchPg;

#[derive(Parser, Debug)]
struct Args {
    /// Messages in the history.
    #[arg(long, default_value_t = 1_000_000)]
    messages: i64,
    /// Days the messages are spread over (one partition a day).
    #[arg(long, default_value_t = 7)]
    days: i64,
    /// Timed runs of each search (after 3 untimed ones).
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Drop the search indexes before the fill and only report the fill rate.
    #[arg(long)]
    no_search_indexes: bool,
}

/// Inserts the day's share of messages (ids of that day, in order), 10,000 per statement.
/// One in ten goes to another application; customers repeat every 100,000 messages; one
/// message in 10,000 mentions a chargeback.
async fn fill_day(pool: &sqlx::PgPool, day: i64, per_day: i64) -> anyhow::Result<()> {
    let at = Utc::now() - Duration::days(day);
    let base = id_floor_at(MESSAGE, at.timestamp_millis());
    for from in (0..per_day).step_by(10_000) {
        let to = (from + 10_000).min(per_day);
        sqlx::query(
            "INSERT INTO messages (id, org_id, app_id, event_type, payload, channels, tags, created_at, expires_at)
             SELECT $1 || lpad(j::text, 9, '0'), 'org_bench',
                    CASE WHEN i % 10 = 0 THEN 'app_other' ELSE 'app_bench' END,
                    'invoice.' || (ARRAY['paid', 'refunded', 'failed'])[1 + i % 3],
                    json_build_object(
                        'id', 'inv_' || i,
                        'status', (ARRAY['paid', 'refunded', 'failed'])[1 + i % 3],
                        'amount', i % 10000,
                        'currency', 'eur',
                        'customer', json_build_object(
                            'id', 'cus_' || (i % 100000),
                            'email', 'customer' || (i % 100000) || '@example.test',
                            'name', (ARRAY['Alice', 'Bob', 'Chidi', 'Dana', 'Emeka'])[1 + i % 5] || ' '
                                    || (ARRAY['Smith', 'Okafor', 'Larsen', 'Novak'])[1 + i % 4]),
                        'note', CASE WHEN i % 10000 = 7 THEN 'chargeback opened by the bank'
                                     ELSE 'order ' || i || ' for plan ' || (ARRAY['basic', 'pro', 'team', 'enterprise'])[1 + i % 4] END,
                        'lines', json_build_array(json_build_object(
                            'sku', 'plan-' || (ARRAY['basic', 'pro', 'team', 'enterprise'])[1 + i % 4],
                            'qty', 1 + i % 3)))::text,
                    ARRAY[(ARRAY['eu', 'us'])[1 + i % 2]], CASE WHEN i % 50 = 0 THEN ARRAY['vip'] END,
                    $2, $2 + interval '30 days'
             FROM generate_series($3::bigint, $4::bigint - 1) j, LATERAL (SELECT $5::bigint + j AS i) g",
        )
        .bind(&base)
        .bind(at)
        .bind(from)
        .bind(to)
        .bind(day * per_day)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// What the plan of a search reads: each scan node and which kind of index, counted.
async fn plan_summary(pool: &sqlx::PgPool, filter: &messages::MessageFilter) -> anyhow::Result<String> {
    let page = Page::new(Some(50), None, Ordering::Descending);
    let mut qb = messages::list_query("app_bench", filter, &page);
    let mut query = qb.build();
    let sql = format!("EXPLAIN {}", query.sql());
    let args = query
        .take_arguments()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("arguments")?;
    let lines: Vec<String> = sqlx::query_scalar_with(&sql, args).fetch_all(pool).await?;
    if std::env::var_os("SEARCH_BENCH_PLANS").is_some() {
        println!("{}", lines.join("\n"));
    }
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for line in &lines {
        let Some(at) = line.find(" Scan") else { continue };
        let node = line[..at + 5].trim().trim_start_matches("->").trim().to_string();
        let index = if line.contains("payload_jsonb") {
            " (payload fields index)"
        } else if line.contains("payload_words") {
            " (payload words index)"
        } else if line.contains("app_id") {
            " (app_id, id index)"
        } else {
            ""
        };
        *counts.entry(format!("{node}{index}")).or_default() += 1;
    }
    Ok(counts
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", "))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scratch = ScratchPg::start("search", partitions::Layout::DAILY).await?;
    let pool = scratch.pool.clone();
    sqlx::raw_sql(
        "INSERT INTO organizations (id, name) VALUES ('org_bench', 'bench');
         INSERT INTO applications (id, org_id, name) VALUES ('app_bench', 'org_bench', 'bench'), ('app_other', 'org_bench', 'other');",
    )
    .execute(&pool)
    .await?;
    if args.no_search_indexes {
        sqlx::raw_sql("DROP INDEX messages_payload_fields; DROP INDEX messages_payload_words")
            .execute(&pool)
            .await?;
    }
    // the partitions of the days filled, oldest first (as a server running that long made them)
    for p in partitions::list(&pool).await?.iter().filter(|p| p.suffix != "p0") {
        partitions::drop(&pool, p).await?;
    }
    for day in (0..args.days).rev() {
        let layout = partitions::Layout {
            days_ahead: 1,
            ..partitions::Layout::DAILY
        };
        partitions::ensure(&pool, Utc::now() - Duration::days(day), layout).await?;
    }
    // the indexes of the partitions that existed before the migration (a server builds them)
    domain::store::partition_indexes::build_missing(&pool).await?;
    let per_day = args.messages / args.days;
    let started = Instant::now();
    for day in (0..args.days).rev() {
        fill_day(&pool, day, per_day).await?;
    }
    let fill = started.elapsed().as_secs_f64();
    println!(
        "{} messages over {} days in {:.1} s ({:.0} messages/s inserted, search indexes {}); PostgreSQL {}",
        per_day * args.days,
        args.days,
        fill,
        (per_day * args.days) as f64 / fill,
        if args.no_search_indexes { "dropped" } else { "kept" },
        sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&pool)
            .await?
    );
    if args.no_search_indexes {
        return scratch.stop().await;
    }
    // as autovacuum leaves a table that inserts filled: statistics gathered, and the GIN
    // indexes' pending lists (fastupdate) merged into their trees
    sqlx::query("VACUUM ANALYZE messages").execute(&pool).await?;
    let sizes: (i64, i64, i64) = sqlx::query_as(
        "SELECT sum(pg_relation_size(relid)) FILTER (WHERE NOT isleaf OR level = 1)::bigint,
                (SELECT sum(pg_relation_size(i.indexrelid))::bigint FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                  WHERE c.relname LIKE '%payload_jsonb%'),
                (SELECT sum(pg_relation_size(i.indexrelid))::bigint FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                  WHERE c.relname LIKE '%payload_words%')
         FROM pg_partition_tree('messages')",
    )
    .fetch_one(&pool)
    .await?;
    let mib = |b: i64| b as f64 / 1048576.0;
    println!(
        "messages heap {:.0} MiB; payload fields index {:.0} MiB; payload words index {:.0} MiB",
        mib(sizes.0),
        mib(sizes.1),
        mib(sizes.2)
    );

    let searches: [(&str, &str); 8] = [
        ("one customer's 10 messages", r#"customer.id = "cus_4242""#),
        ("a common field (a third of all)", "status = refunded"),
        (
            "two fields, one in an array",
            "customer.id = cus_4242 lines[].sku = plan-team",
        ),
        ("a rare word (1 in 10,000)", "chargeback"),
        ("a common word (a quarter of all)", "enterprise"),
        ("an e-mail address", "customer4242@example.test"),
        (
            "a phrase and a field",
            r#""opened by the bank" status = refunded"#,
        ),
        ("a word nothing has", "zebra"),
    ];
    println!();
    println!("| search | `search=` | found (first page of 50) | p50 ms | p95 ms | plan reads |");
    println!("|---|---|---:|---:|---:|---|");
    for (what, text) in searches {
        let filter = messages::MessageFilter {
            search: Some(domain::search::parse(text).map_err(|e| anyhow::anyhow!("{text}: {e}"))?),
            ..Default::default()
        };
        let page = Page::new(Some(50), None, Ordering::Descending);
        let mut times = Vec::new();
        let mut found = 0;
        for run in 0..args.runs + 3 {
            let t = Instant::now();
            let list = messages::list(&pool, "app_bench", &filter, &page).await?;
            if run >= 3 {
                times.push(t.elapsed().as_micros() as u64);
            }
            found = list.data.len();
        }
        times.sort_unstable();
        println!(
            "| {what} | `{text}` | {found} | {:.1} | {:.1} | {} |",
            bench_pct(&times, 0.5),
            bench_pct(&times, 0.95),
            plan_summary(&pool, &filter).await?
        );
    }
    scratch.stop().await
}

fn bench_pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0) as f64 / 1000.0
}
