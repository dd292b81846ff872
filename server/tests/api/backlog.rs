//! A large backlog does not make a claim dearer: the claim statement reads about the same
//! number of pages with 200,000 due deliveries queued as with 5,000 (it walks the due index
//! in order and stops at its batch), and leases no more than its batch. Before, the planner
//! misjudged the claim's endpoint filter and sorted the whole backlog: 1,843 pages at 5,000
//! and 9,442 at 200,000; now about 1,250 and 1,650 (`SHOW_PLAN=1` prints the plans).
//! An endpoint the claim skips (no room, or an open breaker) costs it nothing however large
//! its backlog: the claim then goes endpoint by endpoint.
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

/// Who the claim skips, and the room of the endpoints with sends in flight.
#[derive(Default)]
struct Skip {
    busy: Vec<String>,
    free: Vec<i32>,
    full: Vec<String>,
}

/// Pages the claim touches (shared hit + read, all nodes), and the rows it leased; the claim
/// runs inside a transaction that is rolled back, so the backlog stays as it was.
async fn claim_cost(app: &TestApp) -> (i64, i64) {
    claim_cost_skipping(app, &Skip::default()).await
}

async fn claim_cost_skipping(app: &TestApp, skip: &Skip) -> (i64, i64) {
    use domain::store::deliveries::{CLAIM_SKIPPING_SQL, CLAIM_SQL};
    let sql = if skip.full.is_empty() {
        CLAIM_SQL
    } else {
        CLAIM_SKIPPING_SQL
    };
    let mut tx = app.pool.begin().await.unwrap();
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
        .bind(128_i64)
        .bind(60.0_f64)
        .bind(&skip.busy)
        .bind(&skip.free)
        .bind(64_i32)
        .bind(&skip.full)
        .bind(Vec::<String>::new())
        .bind(Vec::<chrono::DateTime<chrono::Utc>>::new())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    if std::env::var("SHOW_PLAN").is_ok() {
        println!("{}", serde_json::to_string_pretty(&plan).unwrap());
    }
    let top = &plan[0]["Plan"];
    (pages_finding_rows(top), top["Actual Rows"].as_i64().unwrap())
}

fn pages(node: &Value) -> i64 {
    node["Shared Hit Blocks"].as_i64().unwrap() + node["Shared Read Blocks"].as_i64().unwrap()
}

/// The pages a claim's plan read to find its rows: all of them but the lease's update, which
/// writes the same rows whatever the backlog and whose cost varies with its indexes' page
/// splits (it made these figures swing by a third from run to run).
fn pages_finding_rows(top: &Value) -> i64 {
    fn writes(node: &Value) -> i64 {
        let children = node["Plans"].as_array().map(Vec::as_slice).unwrap_or_default();
        if node["Node Type"] == "ModifyTable" {
            // its own pages only: its input (the claim's search, read lazily through the
            // CTE) is counted in its children
            return pages(node) - children.iter().map(pages).sum::<i64>();
        }
        children.iter().map(writes).sum()
    }
    pages(top) - writes(top)
}

/// Hookline's own connections run with JIT off: with a large backlog the claim's estimated
/// cost passed `jit_above_cost`, and compiling it took 480 ms of a 497 ms claim. Here the
/// database compiles every statement (`jit_above_cost = 0`); a plain connection compiles the
/// claim, the server's does not.
#[tokio::test]
async fn the_servers_connections_do_not_compile_the_claim() {
    let (pool, url) = fresh_database().await;
    let name = url.rsplit('/').next().unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} SET jit_above_cost = 0"))
        .execute(&pool)
        .await
        .unwrap();
    let explain = format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) {}",
        domain::store::deliveries::CLAIM_SQL
    );
    async fn compiled(pool: &sqlx::PgPool, explain: &str) -> bool {
        let mut tx = pool.begin().await.unwrap();
        let plan: Value = sqlx::query_scalar(explain)
            .bind(128_i64)
            .bind(60.0_f64)
            .bind(Vec::<String>::new())
            .bind(Vec::<i32>::new())
            .bind(64_i32)
            .bind(Vec::<String>::new())
            .bind(Vec::<String>::new())
            .bind(Vec::<chrono::DateTime<chrono::Utc>>::new())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        plan[0].get("JIT").is_some()
    }
    let plain = sqlx::PgPool::connect(&url).await.unwrap();
    assert!(compiled(&plain, &explain).await, "a plain connection compiles it");
    let mut settings = test_settings();
    settings.database_url = Some(url.clone().into());
    let db = server::startup::open_database(&settings).await.unwrap();
    assert!(
        !compiled(&db.pool, &explain).await,
        "the server's connection does not"
    );
}

/// The claim is planned for its parameters on every run: PostgreSQL caches a named prepared
/// statement's plan after five runs as a generic plan, and the claim's generic plan (which
/// cannot see the limit or the endpoints to skip) read and sorted the whole due backlog:
/// 1.28 s a claim with a million queued, against 5.5 ms planned for the values, which held
/// the drain after an outage to about 50 deliveries a second.
#[tokio::test]
async fn the_claim_is_never_run_from_a_cached_generic_plan() {
    let app = spawn_app_with(|s| s.run_workers = false).await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap().to_string();
    seed(&app, &ep, 0, 2_000).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let full = vec!["ep_none".to_string()];
    for i in 0..8 {
        let skipping = i % 2 == 1;
        let room = domain::store::deliveries::Room {
            endpoints: if skipping { &full } else { &[] },
            free: if skipping { &[0] } else { &[] },
            cap: 64,
            ended_endpoints: &[],
            ended_leases: &[],
        };
        let got = domain::store::deliveries::claim_due(&mut *conn, 16, 60.0, room)
            .await
            .unwrap();
        assert_eq!(got.len(), 16);
    }
    let cached: i64 = sqlx::query_scalar(
        // (the pattern split, so that this statement, itself prepared, does not match)
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FOR UPDATE ' || 'SKIP LOCKED%'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(cached, 0, "the claim statements are not prepared for reuse");
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

#[tokio::test]
async fn an_endpoint_skipped_with_a_large_backlog_costs_the_claim_nothing() {
    let app = spawn_app_with(|s| s.run_workers = false).await;
    let id = app.setup_app(&["a.b"]).await;
    let mut eps = Vec::new();
    for port in [9, 10, 11] {
        let ep = app
            .create_endpoint(&id, json!({"url": format!("http://127.0.0.1:{port}/")}))
            .await;
        eps.push(ep["id"].as_str().unwrap().to_string());
    }
    // the first endpoint holds the backlog and is skipped; the others have a few due rows,
    // all behind its rows in due order
    seed(&app, &eps[0], 0, 5_000).await;
    seed(&app, &eps[1], 5_000, 10).await;
    seed(&app, &eps[2], 5_010, 100).await;
    sqlx::query(
        "UPDATE deliveries SET next_attempt_at = now() - interval '2 minutes' WHERE endpoint_id = $1",
    )
    .bind(&eps[0])
    .execute(&app.pool)
    .await
    .unwrap();
    // the third endpoint has sends in flight: 30 more allowed
    let skip = Skip {
        busy: vec![eps[0].clone(), eps[2].clone()],
        free: vec![0, 30],
        full: vec![eps[0].clone()],
    };
    claim_cost_skipping(&app, &skip).await;
    let (small, leased_small) = claim_cost_skipping(&app, &skip).await;
    seed(&app, &eps[0], 10_000, 195_000).await;
    sqlx::query(
        "UPDATE deliveries SET next_attempt_at = now() - interval '2 minutes' WHERE endpoint_id = $1",
    )
    .bind(&eps[0])
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE deliveries")
        .execute(&app.pool)
        .await
        .unwrap();
    claim_cost_skipping(&app, &skip).await;
    let (large, leased_large) = claim_cost_skipping(&app, &skip).await;
    assert_eq!(
        (leased_small, leased_large),
        (40, 40),
        "all 10 of the second endpoint's rows and the third's room of 30"
    );
    assert!(
        large <= small * 2 + 50,
        "the claim read {small} pages with 5,000 skipped rows and {large} with 200,000"
    );
    // the walk over the due index that this replaces reads every skipped row first
    let mut tx = app.pool.begin().await.unwrap();
    let plan: Value = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
        domain::store::deliveries::CLAIM_SQL
    ))
    .bind(128_i64)
    .bind(60.0_f64)
    .bind(&skip.busy)
    .bind(&skip.free)
    .bind(64_i32)
    .bind(&skip.full)
    .bind(Vec::<String>::new())
    .bind(Vec::<chrono::DateTime<chrono::Utc>>::new())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let walk = pages_finding_rows(&plan[0]["Plan"]);
    assert!(
        walk > large * 10,
        "walking the due index read {walk} pages, skipping {large}"
    );
    // the worker's nap: the earliest row it may claim, also without reading the backlog
    let next = domain::store::deliveries::next_due_at(&app.pool, &skip.full)
        .await
        .unwrap()
        .unwrap();
    let second: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id <> $1")
            .bind(&eps[0])
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(next, second);
    println!("skipping claim pages: {small} with 5,000 skipped rows, {large} with 200,000; walking the due index: {walk}");
}

/// A worker that meets an open breaker leaves the endpoint out of its claims for a while
/// instead of claiming its backlog batch after batch only to put it back: with an outage and
/// a large backlog, that rewrote the whole backlog on every trip of the breaker.
#[tokio::test]
async fn an_open_breaker_leaves_the_backlog_unread() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap().to_string();
    sqlx::query(
        "UPDATE endpoints SET consecutive_failures = 5, circuit_open_until = now() + interval '10 minutes'
         WHERE id = $1",
    )
    .bind(&ep)
    .execute(&app.pool)
    .await
    .unwrap();
    seed(&app, &ep, 0, 5_000).await;
    domain::store::messages::notify_workers(&app.pool).await.unwrap();
    // the worker claims once (the poll is 200 ms), meets the open breaker and parks
    let deferred = eventually(10, "the worker to meet the open breaker", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND next_attempt_at > now()",
        )
        .bind(&ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (n > 0).then_some(n)
    })
    .await;
    // two seconds of polls and wake-ups later, still only what the first claims took
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (moved, attempts): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND next_attempt_at > now()),
                (SELECT count(*) FROM attempts WHERE endpoint_id = $1)",
    )
    .bind(&ep)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 0, "nothing is sent while the breaker is open");
    assert!(
        moved <= 2 * 128,
        "{deferred} rows were put back at first, {moved} after two seconds of 5,000"
    );
    // the portal and API show the pending deliveries as waiting for the breaker's pause
    let (_, body) = app
        .get(&format!("/api/v1/app/{id}/endpoint/{ep}/msg?limit=5&status=1"))
        .await;
    let until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT circuit_open_until FROM endpoints WHERE id = $1")
            .bind(&ep)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for m in body["data"].as_array().unwrap() {
        let next: chrono::DateTime<chrono::Utc> = m["nextAttempt"].as_str().unwrap().parse().unwrap();
        assert!(next >= until - chrono::Duration::seconds(1), "{m}");
    }
    assert_eq!(body["data"].as_array().unwrap().len(), 5);
}
