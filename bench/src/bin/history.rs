//! Storage over a long run: simulates D days of traffic (M messages a day, each with one
//! delivery, one attempt and an eventId, shaped like the ones the API writes) against a real
//! PostgreSQL with Hookline's schema, running the retention Hookline runs at the end of each
//! day, and reports the history's size on disk, the bytes per message kept, and how long
//! dropping a day took. With retention R days the size should stop growing after R+1 days.
//!
//! `cargo run --release -p bench --bin history -- --days 30 --per-day 100000 --retention-days 7`
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use domain::ids::{id_floor_at, MESSAGE};
use domain::store::partitions;
use std::time::Instant;

#[path = "../scratch_pg.rs"]
mod scratch_pg;
use scratch_pg::ScratchPg;

#[derive(Parser, Debug)]
struct Args {
    /// Days to simulate.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Messages a day.
    #[arg(long, default_value_t = 100_000)]
    per_day: i64,
    /// The message retention (`HOOKLINE_MESSAGE_RETENTION`), in days.
    #[arg(long, default_value_t = 7)]
    retention_days: i64,
}

/// Inserts one day's messages (ids of that day, in order) with their delivery, attempt and
/// eventId, in batches of 10,000.
async fn fill_day(pool: &sqlx::PgPool, day: DateTime<Utc>, n: i64) -> anyhow::Result<()> {
    let base = id_floor_at(MESSAGE, day.timestamp_millis());
    let step_ms = 86_400_000 / n.max(1);
    for from in (0..n).step_by(10_000) {
        let to = (from + 10_000).min(n);
        sqlx::query(
            "WITH g AS (
                 SELECT i, $1 || lpad(i::text, 9, '0') AS id,
                        $2::timestamptz + make_interval(secs => i * $3 / 1000.0) AS at
                 FROM generate_series($4::bigint, $5::bigint - 1) i),
             m AS (INSERT INTO messages (id, org_id, app_id, event_type, event_id, payload, channels,
                                         created_at, expires_at)
                   SELECT id, 'org_bench', 'app_bench', 'invoice.paid', 'evt_' || id,
                          json_build_object('id', 'inv_' || i, 'type', 'invoice.paid', 'amount', i % 10000,
                                            'currency', 'eur', 'customer', json_build_object('id', 'cus_' || (i % 997),
                                            'email', 'customer' || (i % 997) || '@example.test'),
                                            'lines', json_build_array(json_build_object('sku', 'plan-pro', 'qty', 1)))::text,
                          ARRAY['billing'], at, at + interval '30 days' FROM g),
             ev AS (INSERT INTO message_event_ids (app_id, event_id, message_id)
                    SELECT 'app_bench', 'evt_' || id, id FROM g),
             d AS (INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, status, attempt_count,
                                           next_attempt_at, last_attempt_at, created_at, updated_at)
                   SELECT 'org_bench', 'app_bench', id, 'ep_bench', 0, 1, at, at, at, at FROM g
                   RETURNING id AS delivery_id, message_id)
             INSERT INTO attempts (id, org_id, app_id, delivery_id, message_id, endpoint_id, url, status,
                                   trigger_type, response_status_code, response, duration_ms, request_headers,
                                   created_at)
             SELECT 'atmpt_' || substr(d.message_id, 5), 'org_bench', 'app_bench', d.delivery_id, d.message_id,
                    'ep_bench', 'https://receiver.example.test/webhooks', 0, 0, 200, 'ok', 12,
                    jsonb_build_object('content-type', 'application/json', 'user-agent', 'Hookline/0.1',
                                       'webhook-id', d.message_id, 'webhook-timestamp', '1764806400',
                                       'webhook-signature', 'v1,' || repeat('x', 44)),
                    now()
             FROM d",
        )
        .bind(&base)
        .bind(day)
        .bind(step_ms as f64)
        .bind(from)
        .bind(to)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Bytes on disk of the history (messages, deliveries, attempts with their indexes and TOAST,
/// every partition) and of the eventId table.
async fn history_bytes(pool: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT sum(pg_total_relation_size(relid))::bigint FROM (
                     SELECT relid FROM pg_partition_tree('messages') UNION ALL
                     SELECT relid FROM pg_partition_tree('deliveries') UNION ALL
                     SELECT relid FROM pg_partition_tree('attempts')) t),
                pg_total_relation_size('message_event_ids')",
    )
    .fetch_one(pool)
    .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let layout = partitions::Layout::for_retention(std::time::Duration::from_secs(
        args.retention_days as u64 * 86_400,
    ));
    let scratch = ScratchPg::start("history", layout).await?;
    let pool = scratch.pool.clone();
    sqlx::raw_sql(
        "INSERT INTO organizations (id, name) VALUES ('org_bench', 'bench');
         INSERT INTO applications (id, org_id, name) VALUES ('app_bench', 'org_bench', 'bench');
         INSERT INTO endpoints (id, org_id, app_id, url) VALUES ('ep_bench', 'org_bench', 'app_bench', 'https://receiver.example.test/webhooks')",
    )
    .execute(&pool)
    .await?;
    // The days simulated end today: start with a history that begins `days` ago.
    for p in partitions::list(&pool).await?.iter().filter(|p| p.suffix != "p0") {
        partitions::drop(&pool, p).await?;
    }
    let start = Utc::now() - Duration::days(args.days);
    let retention = Duration::days(args.retention_days);
    println!(
        "{} days of {} messages/day, retention {} days, {} day(s) per partition (PostgreSQL {})",
        args.days,
        args.per_day,
        args.retention_days,
        layout.days_per_partition,
        sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&pool)
            .await?
    );
    println!("| day | messages kept | history MiB | eventId MiB | bytes/message | days dropped | eventId purge ms | drop ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for day in 0..args.days {
        let today = start + Duration::days(day);
        partitions::ensure(
            &pool,
            today,
            partitions::Layout {
                days_ahead: 1,
                ..layout
            },
        )
        .await?;
        let t = Instant::now();
        fill_day(&pool, today, args.per_day).await?;
        let fill_s = t.elapsed().as_secs_f64();
        // the end of the day: Hookline's sweep, as a worker runs it
        let end = today + Duration::days(1);
        let mut dropped = 0;
        let (mut drop_ms, mut purge_ms) = (0.0, 0.0);
        for p in partitions::expired(&partitions::list(&pool).await?, end, retention) {
            let t = Instant::now();
            partitions::drop(&pool, &p).await?;
            drop_ms += t.elapsed().as_secs_f64() * 1000.0;
            dropped += 1;
        }
        if let Some(lower) = partitions::list(&pool)
            .await?
            .first()
            .and_then(|p| p.lower.clone())
        {
            let t = Instant::now();
            while partitions::purge_event_ids(&pool, &lower, 1_000).await? == 1_000 {}
            purge_ms += t.elapsed().as_secs_f64() * 1000.0;
        }
        sqlx::query("VACUUM message_event_ids").execute(&pool).await?;
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(&pool)
            .await?;
        let (history, events) = history_bytes(&pool).await?;
        println!(
            "| {} | {kept} | {:.1} | {:.1} | {} | {dropped} | {} | {} |",
            day + 1,
            history as f64 / 1048576.0,
            events as f64 / 1048576.0,
            (history + events) / kept.max(1),
            if dropped > 0 {
                format!("{purge_ms:.0}")
            } else {
                "–".into()
            },
            if dropped > 0 {
                format!("{drop_ms:.1}")
            } else {
                "–".into()
            },
        );
        eprintln!("day {} filled in {fill_s:.1} s", day + 1);
    }
    scratch.stop().await
}
