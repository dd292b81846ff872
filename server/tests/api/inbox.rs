//! Test inboxes at the HTTP level: a delivery to one is recorded inside Hookline (the SSRF
//! guard refuses loopback here, so a delivery that connected would fail), signed with the
//! endpoint's secret; the inbox answers as told; it is bounded, expires, and is the
//! organisation's own.
use crate::helpers::*;
use crate::portal::{logged_in, portal_call};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// A server whose SSRF guard refuses loopback (the default), as a production one does.
async fn guarded_app(tweak: impl FnOnce(&mut server::config::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.delivery.guard = domain::ssrf::SsrfGuard::default();
        tweak(s);
    })
    .await
}

/// A developer with an application: (session cookie, application id).
async fn developer_with_app(app: &TestApp) -> (String, String) {
    let cookie = logged_in(app, "grace@example.com", "Cobol").await;
    let (s, body) = portal_call(app, &cookie, "create_app", &[("name", "Shop"), ("uid", "")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a: Value = serde_json::from_str(&body).unwrap();
    (cookie, a["id"].as_str().unwrap().to_string())
}

/// A test inbox with an endpoint of `app_id` delivering to it: (inbox, endpoint).
async fn inbox_endpoint(app: &TestApp, cookie: &str, app_id: &str) -> (Value, Value) {
    let (s, body) = portal_call(app, cookie, "create_test_inbox", &[("app", app_id)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (inbox, ep): (Value, Value) = serde_json::from_str(&body).unwrap();
    (inbox, ep)
}

async fn inbox_view(app: &TestApp, cookie: &str, id: &str) -> (StatusCode, Value) {
    let (s, body) = portal_call(app, cookie, "inbox_view", &[("id", id)]).await;
    (s, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// A message through the API of the developer's organisation (a key made in the portal).
async fn send(app: &TestApp, cookie: &str, app_id: &str, payload: Value) -> String {
    let (s, key) = portal_call(app, cookie, "create_api_key", &[("name", "k")]).await;
    assert_eq!(s, StatusCode::OK);
    let key: String = serde_json::from_str(&key).unwrap();
    let (s, m) = app
        .call_as(
            &key,
            reqwest::Method::POST,
            &format!("/api/v1/app/{app_id}/msg"),
            Some(json!({"eventType": "order.paid", "payload": payload})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

async fn requests_of(app: &TestApp, cookie: &str, inbox: &str) -> Vec<Value> {
    let (s, v) = inbox_view(app, cookie, inbox).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["requests"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_delivery_to_a_test_inbox_is_recorded_inside_signed_and_checked() {
    let app = guarded_app(|_| {}).await;
    let (cookie, a) = developer_with_app(&app).await;
    let (inbox, ep) = inbox_endpoint(&app, &cookie, &a).await;
    let url = inbox["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/inbox/", app.base)), "{url}");
    assert_eq!(ep["url"], url);
    let msg = send(&app, &cookie, &a, json!({"order": 7})).await;
    let id = inbox["id"].as_str().unwrap().to_string();
    let got = eventually(20, "the inbox records the delivery", || async {
        requests_of(&app, &cookie, &id).await.into_iter().next()
    })
    .await;
    assert_eq!(got["msgId"], msg.as_str());
    assert_eq!(got["endpointId"], ep["id"], "routed inside, by Hookline");
    assert_eq!(got["signature"], "valid", "{got}");
    assert_eq!(got["answered"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(got["body"].as_str().unwrap()).unwrap(),
        json!({"order": 7})
    );
    let headers = got["headers"].as_array().unwrap();
    assert!(headers.iter().any(|h| h[0] == "webhook-signature"), "{headers:?}");
    // and the delivery succeeded, though loopback is refused to every real connection
    let (_, ds) = app
        .call_as(
            &portal_key(&app, &cookie).await,
            reqwest::Method::GET,
            &format!("/api/v1/app/{a}/attempt/msg/{msg}"),
            None,
        )
        .await;
    assert_eq!(ds["data"][0]["responseStatusCode"], 200, "{ds}");
    assert!(ds["data"][0]["errorCode"].is_null(), "{ds}");
}

async fn portal_key(app: &TestApp, cookie: &str) -> String {
    let (_, key) = portal_call(app, cookie, "create_api_key", &[("name", "read")]).await;
    serde_json::from_str(&key).unwrap()
}

#[tokio::test]
async fn an_address_that_only_looks_like_an_inbox_still_meets_the_ssrf_guard() {
    let app = guarded_app(|_| {}).await;
    let (cookie, a) = developer_with_app(&app).await;
    let (inbox, inbox_ep) = inbox_endpoint(&app, &cookie, &a).await;
    let token = inbox["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let key = portal_key(&app, &cookie).await;
    // the same path on another address: an ordinary endpoint, refused before connecting
    let mut lookalikes = Vec::new();
    for url in [
        format!("http://10.20.30.40/inbox/{token}"),
        format!(
            "http://127.0.0.2:{}/inbox/{token}",
            app.base.rsplit(':').next().unwrap()
        ),
    ] {
        let (s, ep) = app
            .call_as(
                &key,
                reqwest::Method::POST,
                &format!("/api/v1/app/{a}/endpoint"),
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        lookalikes.push(ep["id"].as_str().unwrap().to_string());
    }
    let inbox_ep = inbox_ep["id"].as_str().unwrap().to_string();
    let msg = send(&app, &cookie, &a, json!({"x": 1})).await;
    // every endpoint's first attempt; the look-alikes retry quickly, so count per endpoint
    let attempts = eventually(20, "a first attempt at each endpoint", || async {
        let (_, b) = app
            .call_as(
                &key,
                reqwest::Method::GET,
                &format!("/api/v1/app/{a}/attempt/msg/{msg}"),
                None,
            )
            .await;
        let data = b["data"].as_array().cloned().unwrap_or_default();
        let tried = |ep: &str| data.iter().any(|t| t["endpointId"] == ep);
        (lookalikes.iter().all(|e| tried(e)) && tried(&inbox_ep)).then_some(data)
    })
    .await;
    for t in &attempts {
        let ep = t["endpointId"].as_str().unwrap();
        if lookalikes.iter().any(|e| e == ep) {
            assert_eq!(t["errorCode"], "E_SSRF", "{attempts:?}");
        } else {
            assert_eq!(ep, inbox_ep, "{attempts:?}");
            assert!(t["errorCode"].is_null(), "{attempts:?}");
        }
    }
    // the real inbox got its own delivery, and nothing from the look-alikes
    let got = requests_of(&app, &cookie, inbox["id"].as_str().unwrap()).await;
    assert_eq!(got.len(), 1, "{got:?}");
}

#[tokio::test]
async fn an_inbox_answers_with_the_status_and_delay_it_is_told() {
    let app = guarded_app(|s| {
        s.delivery.request_timeout = Duration::from_secs(1);
        s.delivery.retry.schedule = vec![Duration::from_millis(100); 8];
    })
    .await;
    let (cookie, a) = developer_with_app(&app).await;
    let (inbox, ep) = inbox_endpoint(&app, &cookie, &a).await;
    let id = inbox["id"].as_str().unwrap();
    // out of range and not numbers: 422 naming the field, nothing changed
    let (s, body) = portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[("id", id), ("status", "99"), ("delay_ms", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("status"), "{body}");
    let (s, body) = portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[("id", id), ("status", "200"), ("delay_ms", "lots")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[("id", id), ("status", "503"), ("delay_ms", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let key = portal_key(&app, &cookie).await;
    let msg = send(&app, &cookie, &a, json!({"n": 1})).await;
    eventually(20, "two failed attempts, retried", || async {
        let (_, b) = app
            .call_as(
                &key,
                reqwest::Method::GET,
                &format!("/api/v1/app/{a}/attempt/msg/{msg}"),
                None,
            )
            .await;
        let data = b["data"].as_array().cloned().unwrap_or_default();
        (data.len() >= 2 && data.iter().all(|d| d["responseStatusCode"] == 503)).then_some(())
    })
    .await;
    // slower than the request timeout: a timeout, as a real slow receiver gives
    portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[("id", id), ("status", "200"), ("delay_ms", "1500")],
    )
    .await;
    eventually(20, "a timed-out attempt", || async {
        let (_, b) = app
            .call_as(
                &key,
                reqwest::Method::GET,
                &format!("/api/v1/app/{a}/attempt/msg/{msg}"),
                None,
            )
            .await;
        b["data"]
            .as_array()?
            .iter()
            .any(|d| d["errorCode"] == "E_TIMEOUT")
            .then_some(())
    })
    .await;
    // healthy again: the retry goes through
    portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[("id", id), ("status", "204"), ("delay_ms", "0")],
    )
    .await;
    eventually(20, "delivered", || async {
        (crate::portal_pages::delivery_status(&app, &key, &a, &msg, ep["id"].as_str().unwrap()).await
            == Some(0))
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn anything_posted_to_an_inbox_url_is_recorded_and_bounded() {
    let app = guarded_app(|s| s.max_payload_bytes = 256 * 1024).await;
    let (cookie, _) = developer_with_app(&app).await;
    let (s, body) = portal_call(&app, &cookie, "create_inbox", &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let inbox: Value = serde_json::from_str(&body).unwrap();
    let url = inbox["url"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    // from anywhere: no Origin, no session (the token in the URL is its authority)
    let r = http.post(&url).body("{\"hello\":1}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let big = "x".repeat(100 * 1024);
    let r = http.post(&url).body(big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got = requests_of(&app, &cookie, inbox["id"].as_str().unwrap()).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["bodyTruncated"], true, "newest first");
    assert_eq!(got[0]["body"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(got[1]["signature"], "unsigned");
    assert!(got[1]["endpointId"].is_null(), "over HTTP, not by Hookline");
    // it keeps the newest 100
    for i in 0..105 {
        http.post(&url)
            .body(format!("{{\"i\":{i}}}"))
            .send()
            .await
            .unwrap();
    }
    let got = requests_of(&app, &cookie, inbox["id"].as_str().unwrap()).await;
    assert_eq!(got.len(), 100);
    assert_eq!(got[0]["body"], "{\"i\":104}");
    // a token that is no inbox
    let r = http
        .post(format!("{}/inbox/not-an-inbox", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn inboxes_are_limited_expire_and_belong_to_their_organisation() {
    let app = guarded_app(|_| {}).await;
    let (cookie, a) = developer_with_app(&app).await;
    let mut ids = vec![];
    for _ in 0..10 {
        let (s, body) = portal_call(&app, &cookie, "create_inbox", &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        ids.push(
            serde_json::from_str::<Value>(&body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (s, body) = portal_call(&app, &cookie, "create_inbox", &[]).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an eleventh is refused in words: {body}"
    );
    assert!(body.contains("10 test inboxes"), "{body}");
    // another organisation cannot see one
    let other = logged_in(&app, "linus@example.com", "Kernel").await;
    let (s, _) = inbox_view(&app, &other, &ids[0]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = portal_call(&app, &other, "delete_inbox", &[("id", ids[0].as_str())]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // a deleted inbox's endpoint gets 410 Gone, recorded as the answer
    portal_call(&app, &cookie, "delete_inbox", &[("id", ids[0].as_str())]).await;
    portal_call(&app, &cookie, "delete_inbox", &[("id", ids[1].as_str())]).await;
    let (inbox, ep) = inbox_endpoint(&app, &cookie, &a).await;
    let id = inbox["id"].as_str().unwrap().to_string();
    portal_call(&app, &cookie, "delete_inbox", &[("id", id.as_str())]).await;
    let key = portal_key(&app, &cookie).await;
    let msg = send(&app, &cookie, &a, json!({})).await;
    eventually(20, "answered 410", || async {
        let (_, b) = app
            .call_as(
                &key,
                reqwest::Method::GET,
                &format!("/api/v1/app/{a}/attempt/msg/{msg}"),
                None,
            )
            .await;
        b["data"]
            .as_array()?
            .iter()
            .any(|d| d["responseStatusCode"] == 410 && d["endpointId"] == ep["id"])
            .then_some(())
    })
    .await;
    // expired inboxes are gone from view, then purged by the sweep
    sqlx::query("UPDATE inboxes SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, _) = inbox_view(&app, &cookie, &ids[2]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let i = domain::store::maintenance::TABLES
        .iter()
        .position(|t| *t == "inboxes")
        .unwrap();
    let n = domain::store::maintenance::purge_batch(&app.pool, i, 1000)
        .await
        .unwrap();
    assert_eq!(n, 8);
}
