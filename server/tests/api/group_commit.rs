//! Group commit of ingest: concurrent requests share one statement and one commit, each is
//! answered only after the commit that stored it, and each keeps its own outcome.
//!
//! To make a batch form on demand, a test transaction holds a lock that every ingest
//! statement needs (on `message_event_ids`): the writers block on it with their first
//! message each, the other requests queue behind them, and when the lock goes the queue is
//! written as one batch.
use crate::helpers::*;
use crate::receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

/// Blocks every ingest statement until the returned transaction ends.
async fn hold_ingest(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE message_event_ids IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Sends `bodies` to `POST …/msg` at once; returns their handles.
fn send_all(
    app: &TestApp,
    app_id: &str,
    bodies: Vec<(Value, Option<&'static str>)>,
) -> Vec<tokio::task::JoinHandle<(u16, Value)>> {
    bodies
        .into_iter()
        .map(|(body, idem)| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/app/{app_id}/msg", app.base);
            let key = app.key.clone();
            tokio::spawn(async move {
                let mut req = client.post(url).bearer_auth(key).json(&body);
                if let Some(k) = idem {
                    req = req.header("idempotency-key", k);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.json().await.unwrap_or(Value::Null))
            })
        })
        .collect()
}

async fn answers(handles: Vec<tokio::task::JoinHandle<(u16, Value)>>) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn scalar(app: &TestApp, sql: &str, app_id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(app_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn concurrent_requests_share_a_commit_and_none_is_answered_before_it() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&app_id, json!({"url": r.url("/")})).await;

    let held = hold_ingest(&app).await;
    let handles = send_all(
        &app,
        &app_id,
        (0..40)
            .map(|i| (json!({"eventType": "a.b", "payload": {"i": i}}), None))
            .collect(),
    );
    // every request is in, none answered: nothing is acknowledged before its commit
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        handles.iter().all(|h| !h.is_finished()),
        "answered before the commit"
    );
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM messages WHERE app_id = $1", &app_id).await,
        0
    );
    held.rollback().await.unwrap();

    let got = answers(handles).await;
    assert!(got.iter().all(|(s, _)| *s == 202), "{got:?}");
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM messages WHERE app_id = $1", &app_id).await,
        40
    );
    // one transaction per batch: the two writers' first messages, then the queue together
    let commits = scalar(
        &app,
        "SELECT count(DISTINCT xmin::text) FROM messages WHERE app_id = $1",
        &app_id,
    )
    .await;
    assert!(commits <= 4, "40 messages took {commits} commits");
    eventually(20, "every message delivered", || async {
        (r.count() == 40).then_some(())
    })
    .await;
}

#[tokio::test]
async fn each_request_of_a_batch_keeps_its_own_outcome() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&app_id, json!({"url": r.url("/")})).await;
    // an eventId taken before the batch
    app.send(
        &app_id,
        json!({"eventType": "a.b", "payload": {}, "eventId": "taken"}),
    )
    .await;

    let held = hold_ingest(&app).await;
    let mut bodies = Vec::new();
    for i in 0..6 {
        bodies.push((
            json!({"eventType": "a.b", "payload": {"dup": i}, "eventId": "twice"}),
            None,
        ));
    }
    bodies.push((
        json!({"eventType": "a.b", "payload": {}, "eventId": "taken"}),
        None,
    ));
    bodies.push((json!({"eventType": "a.b", "payload": {"k": 1}}), Some("key-1")));
    bodies.push((json!({"eventType": "a.b", "payload": {"k": 2}}), Some("key-2")));
    for i in 0..5 {
        bodies.push((
            json!({"eventType": "a.b", "payload": {"plain": i}, "channels": ["c1"], "tags": ["t1", "t2"]}),
            None,
        ));
    }
    let handles = send_all(&app, &app_id, bodies);
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.rollback().await.unwrap();
    let got = answers(handles).await;

    // of the six with one eventId, exactly one is stored; the others are told why
    let twice: Vec<&(u16, Value)> = got[..6].iter().collect();
    assert_eq!(twice.iter().filter(|(s, _)| *s == 202).count(), 1, "{twice:?}");
    for (s, b) in twice.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*s, 409, "{b}");
        assert!(b.to_string().contains("eventId 'twice' already exists"), "{b}");
    }
    assert_eq!(got[6].0, 409, "an eventId taken earlier: {:?}", got[6]);
    for (s, b) in &got[7..] {
        assert_eq!(*s, 202, "{b}");
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM messages WHERE app_id = $1 AND event_id = 'twice'",
            &app_id
        )
        .await,
        1
    );
    let plain = &got[9].1;
    let (s, stored) = app
        .get(&format!(
            "/api/v1/app/{app_id}/msg/{}",
            plain["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (stored["channels"].clone(), stored["tags"].clone()),
        (json!(["c1"]), json!(["t1", "t2"]))
    );

    // the idempotency records were completed in the batch: a retry replays each answer
    for (i, key) in [(7, "key-1"), (8, "key-2")] {
        let again = answers(send_all(
            &app,
            &app_id,
            vec![(json!({"eventType": "a.b", "payload": {"k": i - 6}}), Some(key))],
        ))
        .await;
        assert_eq!(again[0].0, 202);
        assert_eq!(again[0].1["id"], got[i].1["id"], "{key} replays its message");
    }
    // 1 + 1 + 2 + 5 stored, each delivered
    eventually(20, "the stored messages delivered", || async {
        (r.count() == 9).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_message_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["a.b"]).await;
    // this test database refuses one payload, as a constraint would
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.payload LIKE '%poison%' THEN
                 RAISE EXCEPTION 'refused' USING ERRCODE = '22023';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON messages
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let held = hold_ingest(&app).await;
    let mut bodies: Vec<(Value, Option<&'static str>)> = (0..8)
        .map(|i| (json!({"eventType": "a.b", "payload": {"i": i}}), None))
        .collect();
    bodies.insert(
        4,
        (json!({"eventType": "a.b", "payload": {"poison": true}}), None),
    );
    let handles = send_all(&app, &app_id, bodies);
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.rollback().await.unwrap();
    let got = answers(handles).await;

    assert_ne!(
        got[4].0, 202,
        "the refused message is not acknowledged: {:?}",
        got[4]
    );
    for (i, (s, b)) in got.iter().enumerate().filter(|(i, _)| *i != 4) {
        assert_eq!(*s, 202, "message {i}: {b}");
    }
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM messages WHERE app_id = $1", &app_id).await,
        8
    );
}

#[tokio::test]
async fn a_raw_payload_with_a_nul_character_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["a.b"]).await;
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{app_id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "transformationsParams": {"rawPayload": "a\u{0}b"}}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("NUL"), "{b}");
}
