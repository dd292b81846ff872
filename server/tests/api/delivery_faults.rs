//! What a misbehaving endpoint, a racing delete or a broken key must not do to the workers:
//! wedge the recorder, send a delivery twice at once, or send it unsigned.
use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One value read from the test's database, by a query with one text parameter.
async fn one<T>(app: &TestApp, sql: &str, arg: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(arg)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_response_body_with_a_nul_byte_is_recorded_and_the_worker_goes_on() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let nul = Receiver::start().await;
    nul.set_default(Reply {
        body: "ok\0then binary".into(),
        ..Reply::status(200)
    });
    let ep = app.create_endpoint(&id, json!({"url": nul.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let first = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 1}}))
        .await;
    let first = first["id"].as_str().unwrap();
    // PostgreSQL text cannot hold NUL: the attempt is stored with a replacement character.
    eventually(10, "the first delivery is recorded as a success", || async {
        (app.delivery_status(&id, first, ep).await == Some(0)).then_some(())
    })
    .await;
    let attempts = app.attempts(&id, first).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["response"], "ok\u{FFFD}then binary");
    // and the worker still records what comes next
    let second = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 2}}))
        .await;
    let second = second["id"].as_str().unwrap();
    eventually(10, "the second delivery is recorded too", || async {
        (app.delivery_status(&id, second, ep).await == Some(0)).then_some(())
    })
    .await;
    assert_eq!(nul.count(), 2);
}

#[tokio::test]
async fn deleting_an_endpoint_while_its_delivery_is_in_flight_does_not_stall_recording() {
    let app = spawn_app().await;
    let id = app.setup_app(&["slow.one", "fast.one"]).await;
    let slow = Receiver::start().await;
    slow.set_default(Reply {
        delay: Duration::from_millis(800),
        ..Reply::status(200)
    });
    let fast = Receiver::start().await;
    let doomed = app
        .create_endpoint(&id, json!({"url": slow.url("/"), "filterTypes": ["slow.one"]}))
        .await;
    let doomed = doomed["id"].as_str().unwrap();
    let kept = app
        .create_endpoint(&id, json!({"url": fast.url("/"), "filterTypes": ["fast.one"]}))
        .await;
    let kept = kept["id"].as_str().unwrap();
    app.send(&id, json!({"eventType": "slow.one", "payload": {}}))
        .await;
    eventually(10, "the slow endpoint is being sent to", || async {
        (slow.count() == 1).then_some(())
    })
    .await;
    // Deleting the endpoint takes its delivery with it while the request is still in flight.
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/app/{id}/endpoint/{doomed}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // The orphaned attempt is dropped; what comes after it is still recorded.
    let msg = app
        .send(&id, json!({"eventType": "fast.one", "payload": {}}))
        .await;
    let msg = msg["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await; // the slow answer has been recorded
    let msg2 = app
        .send(&id, json!({"eventType": "fast.one", "payload": {}}))
        .await;
    let msg2 = msg2["id"].as_str().unwrap();
    for m in [msg, msg2] {
        eventually(10, "the other endpoint's deliveries are recorded", || async {
            (app.delivery_status(&id, m, kept).await == Some(0)).then_some(())
        })
        .await;
    }
    let orphans: i64 = one(
        &app,
        "SELECT count(*) FROM attempts WHERE endpoint_id = $1",
        doomed,
    )
    .await;
    assert_eq!(orphans, 0);
}

#[tokio::test]
async fn a_delivery_that_waited_out_its_lease_behind_the_endpoint_is_given_back_not_sent_twice() {
    // One send at a time per endpoint, each taking most of a short lease: the deliveries
    // queued behind the first would otherwise be sent after their lease ran out, while
    // another claim of the same rows sends them again.
    let app = spawn_app_with(|s| {
        s.delivery.per_endpoint_concurrency = 1;
        s.delivery.request_timeout = Duration::from_secs(2);
        s.delivery.lease = Some(Duration::from_secs(3));
    })
    .await;
    let id = app.setup_app(&["q.item"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply {
        delay: Duration::from_millis(1200),
        ..Reply::status(200)
    });
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let mut msgs = Vec::new();
    for i in 0..3 {
        let m = app
            .send(&id, json!({"eventType": "q.item", "payload": {"i": i}}))
            .await;
        msgs.push(m["id"].as_str().unwrap().to_string());
    }
    for m in &msgs {
        eventually(30, "every delivery succeeds", || async {
            (app.delivery_status(&id, m, ep).await == Some(0)).then_some(())
        })
        .await;
    }
    let got = r.received();
    let distinct: HashSet<&str> = got.iter().map(|g| g.msg_id()).collect();
    assert_eq!(distinct.len(), 3);
    assert_eq!(got.len(), 3, "each message was sent exactly once");
    for m in &msgs {
        assert_eq!(app.attempts(&id, m).await.len(), 1, "one attempt for {m}");
    }
}

#[tokio::test]
async fn a_delivery_whose_secret_cannot_be_decrypted_is_not_sent_unsigned() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    // As if the server's HOOKLINE_SECRET_KEY were not the one the secret was sealed with.
    sqlx::query("UPDATE endpoint_secrets SET ciphertext = '\\x00112233445566778899aabbccddeeff00112233445566778899' WHERE endpoint_id = $1")
        .bind(ep)
        .execute(&app.pool)
        .await
        .unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    let attempt = eventually(10, "an attempt is recorded", || async {
        app.attempts(&id, msg).await.into_iter().next()
    })
    .await;
    assert_eq!(attempt["responseStatusCode"], 0);
    assert!(
        attempt["response"]
            .as_str()
            .unwrap()
            .contains("HOOKLINE_SECRET_KEY"),
        "{attempt}"
    );
    let code: Option<String> = one(
        &app,
        "SELECT error_code FROM attempts WHERE message_id = $1 LIMIT 1",
        msg,
    )
    .await;
    assert_eq!(code.as_deref(), Some("E_SIGNING"));
    // retried on schedule, never sent
    eventually(10, "the retries run out", || async {
        (app.delivery_status(&id, msg, ep).await == Some(2)).then_some(())
    })
    .await;
    assert_eq!(r.count(), 0, "nothing was sent unsigned");
    // and it does not count against the endpoint
    let failures: i32 = one(
        &app,
        "SELECT consecutive_failures FROM endpoints WHERE id = $1",
        ep,
    )
    .await;
    assert_eq!(failures, 0);
}

#[tokio::test]
async fn a_2xx_whose_body_is_cut_short_counts_as_delivered() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    // A raw endpoint: it promises 100 bytes, sends 5 and hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0u8; 64 * 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort")
                .await;
            let _ = sock.shutdown().await;
        }
    });
    let ep = app
        .create_endpoint(&id, json!({"url": format!("http://127.0.0.1:{port}/")}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    eventually(10, "the delivery is recorded as a success", || async {
        (app.delivery_status(&id, msg, ep).await == Some(0)).then_some(())
    })
    .await;
    let attempts = app.attempts(&id, msg).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["responseStatusCode"], 200);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_resend_of_a_still_retrying_delivery_keeps_its_retries() {
    let app = spawn_app_with(|s| {
        s.delivery.retry.schedule = vec![Duration::from_secs(30), Duration::from_secs(30)]
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    eventually(10, "the first attempt fails", || async {
        (app.attempts(&id, msg).await.len() == 1).then_some(())
    })
    .await;
    assert_eq!(
        app.delivery_status(&id, msg, ep).await,
        Some(1),
        "pending a retry"
    );
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg/{msg}/endpoint/{ep}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let manual = eventually(10, "the manual attempt fails too", || async {
        let a = app.attempts(&id, msg).await;
        (a.len() == 2).then(|| a[1].clone())
    })
    .await;
    assert_eq!(manual["triggerType"], 1, "labelled manual");
    // still pending: the scheduled retries are not thrown away by a manual attempt's failure,
    // nor is one of them used up by it
    assert_eq!(app.delivery_status(&id, msg, ep).await, Some(1));
    let (next, count, trigger): (chrono::DateTime<chrono::Utc>, i32, i16) = sqlx::query_as(
        "SELECT next_attempt_at, attempt_count, next_trigger FROM deliveries WHERE message_id = $1",
    )
    .bind(msg)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::seconds(10),
        "{next}"
    );
    assert_eq!(
        (count, trigger),
        (1, 0),
        "one scheduled attempt so far; the next is scheduled"
    );
}

#[tokio::test]
async fn a_resend_during_an_attempt_in_flight_waits_for_it_and_then_goes_out() {
    let app = spawn_app_with(|s| s.delivery.retry.schedule = vec![Duration::from_secs(30)]).await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply {
        delay: Duration::from_millis(1000),
        ..Reply::status(500)
    });
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    eventually(10, "the first attempt is in flight", || async {
        (r.count() == 1).then_some(())
    })
    .await;
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg/{msg}/endpoint/{ep}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let attempts = eventually(10, "the in-flight attempt, then the resend", || async {
        let a = app.attempts(&id, msg).await;
        (a.len() == 2).then_some(a)
    })
    .await;
    assert_eq!(attempts[0]["triggerType"], 0);
    assert_eq!(attempts[1]["triggerType"], 1);
    let got = r.received();
    assert_eq!(got.len(), 2);
    // the resend went out after the first answer, never alongside it
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(950),
        "{:?}",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn a_slow_endpoints_backlog_does_not_hold_up_another_endpoint() {
    // Four send slots, one send at a time per endpoint. Before, the slow endpoint's backlog
    // was claimed into every slot (one sending, the rest waiting their turn), and a message
    // for anyone else waited behind all of it.
    let app = spawn_app_with(|s| {
        s.delivery.concurrency = 4;
        s.delivery.per_endpoint_concurrency = 1;
    })
    .await;
    let id = app.setup_app(&["slow.one", "fast.one"]).await;
    let slow = Receiver::start().await;
    slow.set_default(Reply {
        delay: Duration::from_millis(2500),
        ..Reply::status(200)
    });
    let fast = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": slow.url("/"), "filterTypes": ["slow.one"]}))
        .await;
    app.create_endpoint(&id, json!({"url": fast.url("/"), "filterTypes": ["fast.one"]}))
        .await;
    for i in 0..6 {
        app.send(&id, json!({"eventType": "slow.one", "payload": {"i": i}}))
            .await;
    }
    eventually(10, "the slow endpoint is busy", || async {
        (slow.count() == 1).then_some(())
    })
    .await;
    app.send(&id, json!({"eventType": "fast.one", "payload": {}}))
        .await;
    eventually(10, "the other endpoint's message arrives", || async {
        (fast.count() == 1).then_some(())
    })
    .await;
    // ... while the slow endpoint is still on its first request
    assert_eq!(
        slow.count(),
        1,
        "the fast endpoint waited behind the slow one's backlog"
    );
    // and the backlog is still delivered in full, once each
    eventually(40, "the backlog drains", || async {
        (slow.count() == 6).then_some(())
    })
    .await;
    let ids: HashSet<String> = slow.received().iter().map(|r| r.msg_id().to_string()).collect();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn a_throttled_backlog_puts_each_delivery_back_at_most_once() {
    let app = spawn_app().await;
    // Count, per delivery, every time a worker put it back for later without an attempt.
    sqlx::raw_sql(
        "CREATE TABLE deferrals (delivery_id BIGINT NOT NULL);
         CREATE FUNCTION log_deferral() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO deferrals VALUES (NEW.id); RETURN NEW; END $$;
         CREATE TRIGGER log_deferral AFTER UPDATE ON deliveries FOR EACH ROW
         WHEN (NEW.next_attempt_at IS DISTINCT FROM OLD.next_attempt_at
               AND NEW.attempt_count = OLD.attempt_count AND NEW.status = OLD.status)
         EXECUTE FUNCTION log_deferral();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/"), "throttleRate": 5}))
        .await;
    for i in 0..12 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    eventually(20, "all twelve delivered", || async {
        (r.count() == 12).then_some(())
    })
    .await;
    let got = r.received();
    let ids: HashSet<&str> = got.iter().map(|g| g.msg_id()).collect();
    assert_eq!(ids.len(), 12, "each sent once");
    // 5 per second: twelve sends need eleven intervals of 200 ms
    let span = got.last().unwrap().at - got[0].at;
    assert!(
        span >= Duration::from_millis(2100),
        "twelve deliveries in {span:?}"
    );
    let most: Option<i64> = sqlx::query_scalar(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM deferrals GROUP BY delivery_id) per_delivery",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(most.unwrap_or(0) <= 1, "a delivery was put back {most:?} times");
    let deferred: i64 = sqlx::query_scalar("SELECT count(DISTINCT delivery_id) FROM deferrals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        deferred >= 6,
        "the backlog waited for its slots ({deferred} put back)"
    );
}
