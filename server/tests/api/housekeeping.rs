//! Records that outlive their use are purged by the workers' sweep: idempotency records after
//! a day, portal tokens an hour after they expire, login failures after a day, background
//! tasks after 90 days, expired portal sessions. Fresh ones stay.
use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.pool).await.unwrap();
}

#[tokio::test]
async fn the_sweep_purges_what_has_outlived_its_use_and_keeps_the_rest() {
    let app = spawn_app_with(|s| s.delivery.retention_sweep = Duration::from_millis(100)).await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/", "disabled": true}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    for key in ["old-key", "fresh-key"] {
        let r = app
            .client
            .post(format!("{}/api/v1/app/{id}/msg", app.base))
            .bearer_auth(&app.key)
            .header("idempotency-key", key)
            .json(&json!({"eventType": "a.b", "payload": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let (s, _) = app
            .post(
                &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
                json!({"since": since}),
            )
            .await;
        assert_eq!(s, 202);
        let (s, _) = app
            .post(&format!("/api/v1/auth/app-portal-access/{id}"), json!({}))
            .await;
        assert_eq!(s, 200);
    }
    exec(&app, "INSERT INTO login_failures (email, failed_at) VALUES ('old@x.test', now() - interval '25 hours'), ('fresh@x.test', now())").await;
    exec(
        &app,
        "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES
         ('old', '\\x00', now() - interval '1 minute'), ('fresh', '\\x00', now() + interval '1 day')",
    )
    .await;
    // age one of each (sessions and login failures were made old above)
    exec(
        &app,
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key'",
    )
    .await;
    exec(&app, "UPDATE portal_tokens SET expires_at = now() - interval '2 hours' WHERE created_at = (SELECT min(created_at) FROM portal_tokens)").await;
    exec(&app, "UPDATE background_tasks SET created_at = now() - interval '91 days' WHERE id = (SELECT min(id) FROM background_tasks)").await;

    eventually(10, "the old records are purged", || async {
        let left = count(
            &app,
            "SELECT (SELECT count(*) FROM idempotency_keys) + (SELECT count(*) FROM portal_tokens)
                  + (SELECT count(*) FROM login_failures) + (SELECT count(*) FROM background_tasks)
                  + (SELECT count(*) FROM tower_sessions.session WHERE id IN ('old', 'fresh'))",
        )
        .await;
        (left == 5).then_some(())
    })
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM idempotency_keys WHERE key = 'fresh-key'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM portal_tokens WHERE expires_at > now()"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM login_failures WHERE email = 'fresh@x.test'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM background_tasks WHERE created_at > now() - interval '1 day'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tower_sessions.session WHERE id = 'fresh'"
        )
        .await,
        1
    );
    // the fresh idempotency record still answers a retry
    let r = app
        .client
        .post(format!("{}/api/v1/app/{id}/msg", app.base))
        .bearer_auth(&app.key)
        .header("idempotency-key", "fresh-key")
        .json(&json!({"eventType": "a.b", "payload": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (_, msgs) = app.get(&format!("/api/v1/app/{id}/msg")).await;
    assert_eq!(
        msgs["data"].as_array().unwrap().len(),
        2,
        "the retry was not a new message"
    );
}
