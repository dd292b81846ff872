//! Both kinds of idempotency: the `Idempotency-Key` header and a message's `eventId`.
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_repeated_idempotency_key_replays_the_first_response_and_creates_nothing_new() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let send = || async {
        let resp = app
            .client
            .post(format!("{}/api/v1/app/{id}/msg", app.base))
            .bearer_auth(&app.key)
            .header("idempotency-key", "order-17")
            .json(&json!({"eventType": "a.b", "payload": {"order": 17}}))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json::<serde_json::Value>().await.unwrap())
    };
    let (s1, b1) = send().await;
    let (s2, b2) = send().await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(b1["id"], b2["id"]);
    let (_, list) = app.get(&format!("/api/v1/app/{id}/msg")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    eventually(10, "one delivery", || async { (r.count() == 1).then_some(()) }).await;

    // the same key with a different body is a conflict, not a silent replay
    let resp = app
        .client
        .post(format!("{}/api/v1/app/{id}/msg", app.base))
        .bearer_auth(&app.key)
        .header("idempotency-key", "order-17")
        .json(&json!({"eventType": "a.b", "payload": {"order": 18}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // applications too
    let create_app = || async {
        app.client
            .post(format!("{}/api/v1/app", app.base))
            .bearer_auth(&app.key)
            .header("idempotency-key", "app-once")
            .json(&json!({"name": "Once"}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(create_app().await["id"], create_app().await["id"]);
}

#[tokio::test]
async fn a_duplicate_event_id_is_a_409() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    app.send(
        &id,
        json!({"eventType": "a.b", "payload": {}, "eventId": "evt-1"}),
    )
    .await;
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "eventId": "evt-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("evt-1"));
    // the message can be fetched by its eventId
    let (s, m) = app.get(&format!("/api/v1/app/{id}/msg/evt-1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["eventId"], "evt-1");
}

#[tokio::test]
async fn a_key_held_by_a_dead_request_says_when_to_retry_and_is_taken_over_after() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    // a request that claimed the key and died (serve was killed mid-request)
    sqlx::query(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, locked_until)
         SELECT org_id, 'dead-1', '\\x00', now() + interval '30 seconds' FROM api_keys LIMIT 1",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let send = || {
        app.client
            .post(format!("{}/api/v1/app/{id}/msg", app.base))
            .bearer_auth(&app.key)
            .header("idempotency-key", "dead-1")
            .json(&json!({"eventType": "a.b", "payload": {}}))
            .send()
    };
    let r = send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((25..=30).contains(&wait), "Retry-After {wait}");
    // once the dead request's lock has run out, the retry takes the key over
    sqlx::query(
        "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = 'dead-1'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(send().await.unwrap().status(), StatusCode::ACCEPTED);
}
