//! A large backlog does not make a claim dearer: the claim statement reads about the same
//! number of pages with 200,000 due deliveries queued as with 5,000 (it walks the due index
//! in order and stops at its batch), and leases no more than its batch. Before, the planner
//! misjudged the claim's endpoint filter and sorted the whole backlog: 1,843 pages at 5,000
//! and 9,442 at 200,000; now about 1,250 and 1,650 (`SHOW_PLAN=1` prints the plans).
use crate::helpers::*;
use serde_json::{json, Value};

/// Seeds `n` more due deliveries for the endpoint, straight into the tables (the API would
/// take minutes for this many).
async fn seed(app: &TestApp, endpoint: &str, from: i64, n: i64) {
    sqlx::query(
        "WITH e AS (SELECT org_id, app_id FROM endpoints WHERE id = $1),
         m AS (INSERT INTO messages (id, org_id, app_id, event_type, payload, expires_at)
               SELECT $4 || lpad(g::text, 9, '0'), e.org_id, e.app_id, 'a.b', '{}', now() + interval '90 days'
               FROM e, generate_series($2::bigint, $2::bigint + $3::bigint - 1) g
               RETURNING id, org_id, app_id)
         INSERT INTO deliveries (org_id, app_id, message_id, endpoint_id, next_attempt_at)
         SELECT m.org_id, m.app_id, m.id, $1, now() - interval '1 minute' FROM m",
    )
    .bind(endpoint)
    .bind(from)
    .bind(n)
    // ids of today (the history is partitioned by message id, by day): today's first id
    // followed by a counter
    .bind(domain::ids::id_floor_at(
        domain::ids::MESSAGE,
        chrono::Utc::now().timestamp_millis(),
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE deliveries")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("ANALYZE messages").execute(&app.pool).await.unwrap();
}

/// Pages the claim touches (shared hit + read, all nodes), and the rows it leased; the claim
/// runs inside a transaction that is rolled back, so the backlog stays as it was.
async fn claim_cost(app: &TestApp) -> (i64, i64) {
    let mut tx = app.pool.begin().await.unwrap();
    let plan: Value = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
        domain::store::deliveries::CLAIM_SQL
    ))
    .bind(128_i64)
    .bind(60.0_f64)
    .bind(Vec::<String>::new())
    .bind(Vec::<i32>::new())
    .bind(64_i32)
    .bind(Vec::<String>::new())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    if std::env::var("SHOW_PLAN").is_ok() {
        println!("{}", serde_json::to_string_pretty(&plan).unwrap());
    }
    let top = &plan[0]["Plan"];
    let pages = top["Shared Hit Blocks"].as_i64().unwrap() + top["Shared Read Blocks"].as_i64().unwrap();
    (pages, top["Actual Rows"].as_i64().unwrap())
}

#[tokio::test]
async fn a_claim_costs_the_same_with_a_backlog_forty_times_larger() {
    let app = spawn_app_with(|s| s.run_workers = false).await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap().to_string();
    seed(&app, &ep, 0, 5_000).await;
    claim_cost(&app).await; // warm the cache, so both figures count hits
    let (small, leased_small) = claim_cost(&app).await;
    seed(&app, &ep, 5_000, 195_000).await;
    claim_cost(&app).await;
    let (large, leased_large) = claim_cost(&app).await;
    assert_eq!(
        (leased_small, leased_large),
        (64, 64),
        "one endpoint's cap per claim"
    );
    assert!(
        large <= small * 2 + 50,
        "the claim read {small} pages with 5,000 queued and {large} with 200,000"
    );
    println!("claim pages: {small} with 5,000 due, {large} with 200,000 due");
}
