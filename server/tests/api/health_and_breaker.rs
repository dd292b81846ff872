//! Endpoint health: the circuit breaker pauses a failing endpoint and probes it; an endpoint
//! failing for longer than the window is disabled with a reason.
use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use serde_json::json;
use std::time::Duration;

/// Waits until the endpoint's circuit is open.
async fn circuit_opens(app: &TestApp, ep: &str) {
    eventually(10, "the circuit opens", || async {
        let open: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT circuit_open_until FROM endpoints WHERE id = $1")
                .bind(ep)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        open.map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn consecutive_failures_open_the_circuit_and_a_probe_closes_it() {
    let app = spawn_app_with(|s| {
        s.delivery.breaker.failure_threshold = 3;
        s.delivery.breaker.cooldown = Duration::from_secs(2);
        s.delivery.retry.schedule = vec![Duration::from_secs(3600)];
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    eventually(10, "three failures", || async { (r.count() == 3).then_some(()) }).await;
    let tripped_at = r.received()[2].at;
    circuit_opens(&app, &ep).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hookline_endpoints_circuit_open 1"),
        "the open breaker is a gauge: {metrics}"
    );

    // The endpoint recovers, but the breaker holds new deliveries until the cooldown ends.
    r.set_default(Reply::status(200));
    let m = app
        .send(&id, json!({"eventType": "a.b", "payload": {"after": true}}))
        .await;
    let m = m["id"].as_str().unwrap().to_string();
    eventually(15, "the probe succeeds", || async {
        (app.delivery_status(&id, &m, &ep).await == Some(0)).then_some(())
    })
    .await;
    let got = r.received();
    assert_eq!(got.len(), 4);
    assert!(
        got[3].at - tripped_at >= Duration::from_millis(1500),
        "sent {:?} after the trip",
        got[3].at - tripped_at
    );
    let (cf, open): (i32, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT consecutive_failures, circuit_open_until FROM endpoints WHERE id = $1")
            .bind(&ep)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((cf, open), (0, None), "a success closes the breaker");
}

#[tokio::test]
async fn a_successful_probe_releases_the_waiting_deliveries_at_once() {
    let app = spawn_app_with(|s| {
        s.delivery.breaker.failure_threshold = 2;
        s.delivery.breaker.cooldown = Duration::from_secs(1);
        s.delivery.retry.schedule = vec![Duration::from_secs(3600)];
        s.delivery.request_timeout = Duration::from_secs(10);
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.script([Reply::status(500), Reply::status(500)]);
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    for i in 0..2 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    eventually(10, "two failures", || async { (r.count() == 2).then_some(()) }).await;
    circuit_opens(&app, ep["id"].as_str().unwrap()).await;
    // sent while the circuit is open: they wait for the pause, then for the probe
    for i in 0..6 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"waiting": i}}))
            .await;
    }
    eventually(20, "the waiting messages delivered", || async {
        (r.count() == 8).then_some(())
    })
    .await;
    let got = r.received();
    let probe = got[2].at;
    let last = got[7].at;
    // Those that lost the probe were put back for its window (timeout + 5 s = 15 s); its
    // success released them at once instead.
    assert!(
        last - probe < Duration::from_secs(5),
        "the rest came {:?} after the probe",
        last - probe
    );
}

#[tokio::test]
async fn an_endpoint_failing_longer_than_the_window_is_disabled_with_a_reason() {
    let app = spawn_app_with(|s| {
        s.delivery.breaker.failure_threshold = 1000;
        s.delivery.breaker.disable_after = Duration::from_secs(1);
        s.delivery.retry.schedule = vec![Duration::from_millis(300); 10];
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(503));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap().to_string();
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(15, "endpoint disabled", || async {
        let (_, e) = app.get(&format!("/api/v1/app/{id}/endpoint/{ep}")).await;
        (e["disabled"] == true).then_some(())
    })
    .await;
    let reason: Option<String> = sqlx::query_scalar("SELECT disabled_reason FROM endpoints WHERE id = $1")
        .bind(&ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(reason.unwrap().contains("Disabled automatically"));
    // New messages are not queued for a disabled endpoint; re-enabling clears the reason.
    let n = r.count();
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let settled = r.count();
    assert!(settled <= n + 1, "at most the in-flight retry after disabling");
    let (s, e) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{ep}"),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(e["disabled"], false);
    let reason: Option<String> = sqlx::query_scalar("SELECT disabled_reason FROM endpoints WHERE id = $1")
        .bind(&ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(reason, None);
}
