//! Fan-out, filtering, channels, signatures, retries, the dead letter and replay.
use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use domain::signing;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_message_fans_out_to_every_endpoint_whose_event_type_filter_matches() {
    let app = spawn_app().await;
    let id = app.setup_app(&["invoice.paid", "user.created"]).await;
    let all = Receiver::start().await;
    let invoices = Receiver::start().await;
    let users = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": all.url("/all")})).await;
    app.create_endpoint(
        &id,
        // `eventTypes`, the published spec's name, is accepted as an alias of `filterTypes`
        json!({"url": invoices.url("/i"), "eventTypes": ["invoice.paid"]}),
    )
    .await;
    app.create_endpoint(
        &id,
        json!({"url": users.url("/u"), "eventTypes": ["user.created"]}),
    )
    .await;
    let disabled = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": disabled.url("/d"), "disabled": true}))
        .await;

    let msg = app
        .send(
            &id,
            json!({"eventType": "invoice.paid", "payload": {"amount": 42}}),
        )
        .await;
    eventually(10, "all and invoices receive the message", || async {
        (all.count() == 1 && invoices.count() == 1).then_some(())
    })
    .await;
    // users' endpoint filters invoice.paid out; give the worker a moment to prove it sent nothing
    let m = msg["id"].as_str().unwrap();
    let dest = app.get(&format!("/api/v1/app/{id}/msg/{m}/endpoint")).await.1;
    assert_eq!(
        dest["data"].as_array().unwrap().len(),
        2,
        "only two deliveries were queued: {dest}"
    );
    assert_eq!(users.count(), 0);
    assert_eq!(disabled.count(), 0);
    let got = &invoices.received()[0];
    assert_eq!(got.msg_id(), m);
    assert_eq!(got.body, r#"{"amount":42}"#);
    assert_eq!(got.header("svix-id"), m);

    // As in Svix, an event type need not be in the catalogue to be sent: it reaches the
    // endpoints that do not filter, and no filtered one.
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "not.in.catalogue", "payload": {"n": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["eventType"], "not.in.catalogue");
    eventually(10, "the unfiltered endpoint receives it", || async {
        (all.count() == 2).then_some(())
    })
    .await;
    let m = b["id"].as_str().unwrap();
    let dest = app.get(&format!("/api/v1/app/{id}/msg/{m}/endpoint")).await.1;
    assert_eq!(dest["data"].as_array().unwrap().len(), 1, "{dest}");
    assert_eq!((invoices.count(), users.count()), (1, 0));
}

#[tokio::test]
async fn channels_decide_which_endpoints_get_a_message() {
    let app = spawn_app().await;
    let id = app.setup_app(&["order.shipped"]).await;
    let eu = Receiver::start().await;
    let us = Receiver::start().await;
    let any = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": eu.url("/"), "channels": ["eu"]}))
        .await;
    app.create_endpoint(&id, json!({"url": us.url("/"), "channels": ["us"]}))
        .await;
    app.create_endpoint(&id, json!({"url": any.url("/")})).await;
    app.send(
        &id,
        json!({"eventType": "order.shipped", "payload": {}, "channels": ["eu"]}),
    )
    .await;
    app.send(&id, json!({"eventType": "order.shipped", "payload": {}}))
        .await;
    eventually(10, "deliveries", || async {
        (eu.count() == 1 && any.count() == 2).then_some(())
    })
    .await;
    assert_eq!(us.count(), 0);
    // message listing filters by channel
    let (_, list) = app.get(&format!("/api/v1/app/{id}/msg?channel=eu")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deliveries_are_signed_per_standard_webhooks_with_the_endpoint_secret() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let secret = app.secret(&id, ep["id"].as_str().unwrap()).await;
    assert!(secret.starts_with("whsec_"));
    app.send(&id, json!({"eventType": "a.b", "payload": {"x": [1, 2, 3]}}))
        .await;
    eventually(10, "delivery", || async { (r.count() == 1).then_some(()) }).await;
    let got = &r.received()[0];
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert!(signing::verify(
        &secret,
        got.msg_id(),
        ts,
        got.body.as_bytes(),
        got.header("webhook-signature")
    ));
    assert_eq!(got.header("webhook-signature"), got.header("svix-signature"));
    assert!(!signing::verify(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        got.msg_id(),
        ts,
        got.body.as_bytes(),
        got.header("webhook-signature")
    ));
}

#[tokio::test]
async fn rotating_a_secret_signs_with_both_keys_during_the_grace_period() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let old = app.secret(&id, ep).await;
    let (s, rotated) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/secret/rotate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let new = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(app.secret(&id, ep).await, new);
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(10, "delivery", || async { (r.count() == 1).then_some(()) }).await;
    let got = &r.received()[0];
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    let sig = got.header("webhook-signature");
    assert_eq!(sig.split(' ').count(), 2, "two signatures: {sig}");
    assert!(signing::verify(&old, got.msg_id(), ts, got.body.as_bytes(), sig));
    assert!(signing::verify(&new, got.msg_id(), ts, got.body.as_bytes(), sig));

    // with no grace period the old key stops at once
    let (_, third) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/secret/rotate"),
            json!({"gracePeriodSeconds": 0}),
        )
        .await;
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(10, "second delivery", || async { (r.count() == 2).then_some(()) }).await;
    let got = &r.received()[1];
    let sig = got.header("webhook-signature");
    assert_eq!(sig.split(' ').count(), 1, "{sig}");
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    assert!(signing::verify(
        third["key"].as_str().unwrap(),
        got.msg_id(),
        ts,
        got.body.as_bytes(),
        sig
    ));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id_until_it_succeeds() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.script([Reply::status(500), Reply::status(502)]);
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let msg = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 1}}))
        .await;
    let m = msg["id"].as_str().unwrap();
    let ep = ep["id"].as_str().unwrap();
    eventually(10, "success after two failures", || async {
        (app.delivery_status(&id, m, ep).await == Some(0)).then_some(())
    })
    .await;
    let got = r.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|g| g.msg_id() == m),
        "same webhook-id on every retry"
    );
    let attempts = app.attempts(&id, m).await;
    let codes: Vec<i64> = attempts
        .iter()
        .map(|a| a["responseStatusCode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![500, 502, 200]);
    assert_eq!(attempts[0]["errorCode"], "E_HTTP");
    assert_eq!(attempts[2]["status"], 0);
    assert!(attempts.iter().all(|a| a["triggerType"] == 0));
}

#[tokio::test]
async fn an_exhausted_delivery_becomes_failed_and_resend_and_recover_bring_it_back() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let m1 = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 1}}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m2 = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 2}}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for m in [&m1, &m2] {
        eventually(10, "dead letter", || async {
            (app.delivery_status(&id, m, ep).await == Some(2)).then_some(())
        })
        .await;
        // first try + the three retries of the test schedule
        assert_eq!(app.attempts(&id, m).await.len(), 4);
    }
    let (_, stats) = app.get(&format!("/api/v1/app/{id}/endpoint/{ep}/stats")).await;
    assert_eq!(stats["fail"], 2);

    // resend one after the receiver is fixed
    r.set_default(Reply::status(200));
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg/{m1}/endpoint/{ep}/resend"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b, json!({}));
    eventually(10, "resend succeeds", || async {
        (app.delivery_status(&id, &m1, ep).await == Some(0)).then_some(())
    })
    .await;
    let last = app.attempts(&id, &m1).await.pop().unwrap();
    assert_eq!(last["triggerType"], 1, "manual trigger");
    assert_eq!(
        app.delivery_status(&id, &m2, ep).await,
        Some(2),
        "resend touched only one message"
    );

    // recover everything that failed since `before`
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
            json!({"since": before.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["task"], "endpoint.recover");
    eventually(10, "recovered", || async {
        (app.delivery_status(&id, &m2, ep).await == Some(0)).then_some(())
    })
    .await;
    assert_eq!(app.attempts(&id, &m2).await.len(), 5);
}

#[tokio::test]
async fn recover_only_touches_failures_in_the_time_window() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let m = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually(10, "dead letter", || async {
        (app.delivery_status(&id, &m, ep).await == Some(2)).then_some(())
    })
    .await;
    let since = chrono::Utc::now() + chrono::Duration::seconds(1);
    let (s, _) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
            json!({"since": since.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.delivery_status(&id, &m, ep).await, Some(2));
    assert_eq!(r.count(), 4);
}

#[tokio::test]
async fn retry_after_on_429_pushes_the_retry_later_but_never_earlier() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.script([Reply {
        retry_after: Some("2".into()),
        ..Reply::status(429)
    }]);
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let m = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ep = ep["id"].as_str().unwrap();
    eventually(15, "success after Retry-After", || async {
        (app.delivery_status(&id, &m, ep).await == Some(0)).then_some(())
    })
    .await;
    let got = r.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    // the schedule says 20 ms; Retry-After says 2 s
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
}

#[tokio::test]
async fn throttle_rate_limits_deliveries_per_second_to_an_endpoint() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/"), "throttleRate": 5}))
        .await;
    for i in 0..6 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    eventually(20, "all six delivered", || async {
        (r.count() == 6).then_some(())
    })
    .await;
    let got = r.received();
    let span = got.last().unwrap().at - got[0].at;
    // 5 per second: six sends need at least five intervals of 200 ms
    assert!(span >= Duration::from_millis(950), "six deliveries in {span:?}");
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failures() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let target = Receiver::start().await;
    let r = Receiver::start().await;
    r.set_default(Reply {
        location: Some(target.url("/elsewhere")),
        ..Reply::status(302)
    });
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let m = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually(10, "dead letter", || async {
        (app.delivery_status(&id, &m, ep).await == Some(2)).then_some(())
    })
    .await;
    let attempts = app.attempts(&id, &m).await;
    assert!(attempts
        .iter()
        .all(|a| a["responseStatusCode"] == 302 && a["errorCode"] == "E_HTTP"));
    assert_eq!(target.count(), 0, "the redirect target is never contacted");
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_a_huge_response_is_stored_truncated() {
    let app = spawn_app_with(|s| {
        s.delivery.request_timeout = Duration::from_millis(500);
        s.delivery.retry.schedule = vec![Duration::from_millis(20)];
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.script([
        Reply {
            delay: Duration::from_secs(3),
            ..Reply::status(200)
        },
        Reply {
            body: "y".repeat(200_000),
            ..Reply::status(500)
        },
    ]);
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let m = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually(15, "dead letter", || async {
        (app.delivery_status(&id, &m, ep).await == Some(2)).then_some(())
    })
    .await;
    let attempts = app.attempts(&id, &m).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["errorCode"], "E_TIMEOUT");
    assert_eq!(attempts[0]["responseStatusCode"], 0);
    let body = attempts[1]["response"].as_str().unwrap();
    assert_eq!(body.len(), 16 * 1024, "the stored response body is capped");
}

#[tokio::test]
async fn payloads_past_their_retention_are_expunged_once_no_delivery_is_pending() {
    let app = spawn_app_with(|s| s.delivery.retention_sweep = Duration::from_millis(100)).await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let old = app
        .send(
            &id,
            json!({"eventType": "a.b", "payload": {"secret": "old"}, "payloadRetentionPeriod": 5}),
        )
        .await;
    let fresh = app
        .send(&id, json!({"eventType": "a.b", "payload": {"secret": "fresh"}}))
        .await;
    let (old, fresh) = (old["id"].as_str().unwrap(), fresh["id"].as_str().unwrap());
    // both delivered and recorded: a record landing after `set_status` below would mark the
    // delivery done again and let the sweep expunge the payload early
    eventually(10, "both delivered", || async {
        let recorded = app.delivery_status(&id, old, ep).await == Some(0)
            && app.delivery_status(&id, fresh, ep).await == Some(0);
        (r.count() == 2 && recorded).then_some(())
    })
    .await;
    // five days and a bit later, as far as the old message is concerned, with a retry still due
    sqlx::query("UPDATE messages SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(old)
        .execute(&app.pool)
        .await
        .unwrap();
    let set_status = |status: i16| {
        sqlx::query(
            "UPDATE deliveries SET status = $2, next_attempt_at = now() + interval '1 hour' WHERE message_id = $1",
        )
        .bind(old)
        .bind(status)
        .execute(&app.pool)
    };
    set_status(1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, m) = app.get(&format!("/api/v1/app/{id}/msg/{old}")).await;
    assert_eq!(
        m["payload"],
        json!({"secret": "old"}),
        "kept while a delivery is pending"
    );
    set_status(2).await.unwrap();
    eventually(10, "the old payload is expunged", || async {
        let (_, m) = app.get(&format!("/api/v1/app/{id}/msg/{old}")).await;
        (m["payload"] == json!({})).then_some(())
    })
    .await;
    let (_, m) = app.get(&format!("/api/v1/app/{id}/msg/{fresh}")).await;
    assert_eq!(m["payload"], json!({"secret": "fresh"}), "within retention: kept");
    let (_, list) = app.get(&format!("/api/v1/app/{id}/msg")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "both still listed");

    // a message without its payload cannot be resent (as in Svix) ...
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg/{old}/endpoint/{ep}/resend"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["code"], "missing_payload");
    // ... and a recovery that re-queues its failed delivery sends nothing: a signed "{}" would
    // pass for an event
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let last = eventually(10, "the recovered attempt is recorded", || async {
        let attempts = app.attempts(&id, old).await;
        (attempts.len() == 2).then(|| attempts[1].clone())
    })
    .await;
    assert_eq!(last["errorCode"], "E_EXPUNGED", "{last}");
    assert_eq!(app.delivery_status(&id, old, ep).await, Some(2));
    assert_eq!(r.count(), 2, "nothing more arrived");
    let (cf,): (i32,) = sqlx::query_as("SELECT consecutive_failures FROM endpoints WHERE id = $1")
        .bind(ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(cf, 0, "not the endpoint's failure");
}
