//! API keys' organisations and applications' ids are kept in memory by each `serve` process
//! (`domain::service::lookups`). A change made anywhere reaches every process through
//! PostgreSQL's NOTIFY, long before the cache's TTL (ten minutes here) would end it; and a
//! message for an application deleted behind a process's back is refused, not stored.
use crate::helpers::{eventually, spawn_app_with, test_settings, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::startup::Application;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TTL: Duration = Duration::from_secs(600);

/// A second `serve` on the test app's database (no workers: it only answers the API), as on
/// another machine; stopped when the token drops.
struct Second {
    base: String,
    _stop: tokio_util::sync::DropGuard,
}

async fn second_process(app: &TestApp) -> Second {
    let mut s = test_settings();
    s.run_workers = false;
    s.lookup_cache_ttl = TTL;
    let b = Application::build(s, app.pool.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", b.port);
    let cancel = CancellationToken::new();
    tokio::spawn(b.run_until_stopped(cancel.clone()));
    Second {
        base,
        _stop: cancel.drop_guard(),
    }
}

/// Waits until both processes listen for the lookups' notifications (they cache only then).
async fn both_listening(app: &TestApp) {
    listening(app, 2).await;
}

/// Waits until `processes` listen for the lookups' notifications.
pub(crate) async fn listening(app: &TestApp, processes: i64) {
    eventually(10, "the processes to LISTEN for lookup changes", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%hookline_lookups%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (n >= processes).then_some(())
    })
    .await;
}

async fn call(
    app: &TestApp,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut req = app
        .client
        .request(method, format!("{base}{path}"))
        .bearer_auth(&app.key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status()
}

/// Runs `sql` (with `$1` bound to `id`, if given) on the test's database.
async fn run(app: &TestApp, sql: &str, id: Option<&str>) {
    let mut q = sqlx::query(sql);
    if let Some(id) = id {
        q = q.bind(id);
    }
    q.execute(&app.pool).await.unwrap();
}

async fn messages_of(app: &TestApp, app_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM messages WHERE app_id = $1")
        .bind(app_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn msg() -> Value {
    json!({"eventType": "order.created", "payload": {"n": 1}})
}

#[tokio::test]
async fn a_revoked_key_stops_working_in_every_process_long_before_the_cache_would_expire() {
    let app = spawn_app_with(|s| s.lookup_cache_ttl = TTL).await;
    let b = second_process(&app).await;
    both_listening(&app).await;
    assert_eq!(
        call(&app, &b.base, reqwest::Method::GET, "/api/v1/app", None).await,
        StatusCode::OK
    );

    // A change that bypasses the triggers is not seen: the key is served from memory.
    run(
        &app,
        "ALTER TABLE api_keys DISABLE TRIGGER api_keys_lookups",
        None,
    )
    .await;
    run(&app, "UPDATE api_keys SET revoked_at = now()", None).await;
    assert_eq!(
        call(&app, &b.base, reqwest::Method::GET, "/api/v1/app", None).await,
        StatusCode::OK,
        "the key was not cached, so this test proves nothing"
    );

    // Revoked as the portal or psql does it: the trigger's NOTIFY reaches both processes.
    run(&app, "ALTER TABLE api_keys ENABLE TRIGGER api_keys_lookups", None).await;
    run(&app, "UPDATE api_keys SET revoked_at = now()", None).await;
    for base in [&app.base, &b.base] {
        eventually(5, "the revoked key to answer 401", || async {
            let s = call(&app, base, reqwest::Method::GET, "/api/v1/app", None).await;
            (s == StatusCode::UNAUTHORIZED).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_renamed_or_deleted_application_is_seen_by_every_process() {
    let app = spawn_app_with(|s| s.lookup_cache_ttl = TTL).await;
    let b = second_process(&app).await;
    both_listening(&app).await;
    let (s, created) = app
        .post("/api/v1/app", json!({"name": "Shop", "uid": "shop"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let post = reqwest::Method::POST;
    assert_eq!(
        call(&app, &b.base, post.clone(), "/api/v1/app/shop/msg", Some(msg())).await,
        StatusCode::ACCEPTED
    );

    // renamed through the first process: the second stops taking the old uid
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/app/{id}"),
            Some(json!({"name": "Shop", "uid": "store"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    eventually(5, "the old uid to answer 404 in the second process", || async {
        let s = call(&app, &b.base, post.clone(), "/api/v1/app/shop/msg", Some(msg())).await;
        (s == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    assert_eq!(
        call(&app, &b.base, post.clone(), "/api/v1/app/store/msg", Some(msg())).await,
        StatusCode::ACCEPTED
    );

    // deleted where no notification tells anyone (as if it were lost): the second process
    // still has the id in memory, and the insert itself refuses the message
    run(
        &app,
        "ALTER TABLE applications DISABLE TRIGGER applications_lookups",
        None,
    )
    .await;
    run(
        &app,
        "UPDATE applications SET uid = 'elsewhere' WHERE id = $1",
        Some(&id),
    )
    .await;
    assert_eq!(
        call(&app, &b.base, post.clone(), "/api/v1/app/store/msg", Some(msg())).await,
        StatusCode::ACCEPTED,
        "the application was not cached, so this test proves nothing"
    );
    run(&app, "DELETE FROM applications WHERE id = $1", Some(&id)).await;
    run(
        &app,
        "ALTER TABLE applications ENABLE TRIGGER applications_lookups",
        None,
    )
    .await;
    let stored_before = messages_of(&app, &id).await;
    assert_eq!(
        call(&app, &b.base, post.clone(), "/api/v1/app/store/msg", Some(msg())).await,
        StatusCode::NOT_FOUND
    );
    let stored_after = messages_of(&app, &id).await;
    assert_eq!(
        stored_before, stored_after,
        "a message was stored for a deleted application"
    );
}
