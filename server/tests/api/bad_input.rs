//! Bad input gets a clear 4xx, never a 500, and loses nothing already accepted.
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_a_400_with_a_readable_reason() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(format!("{}/api/v1/app", app.base))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "invalid_json");
    assert!(b["detail"].as_str().unwrap().contains("not valid JSON"));
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let (s, b) = app.post("/api/v1/app", json!({"name": 5})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["detail"][0]["loc"], json!(["body", "name"]));
    let (s, b) = app.post("/api/v1/app", json!({"uid": "x"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b["detail"][0]["msg"].as_str().unwrap().contains("name"), "{b}");
}

#[tokio::test]
async fn bad_urls_unknown_event_types_and_bad_uids_are_refused_with_422() {
    let app = spawn_app().await;
    let id = app.setup_app(&["known.type"]).await;
    for (body, needle) in [
        (json!({"url": "not a url"}), "not a valid URL"),
        (json!({"url": "ftp://example.com/x"}), "http or https"),
        (
            json!({"url": "https://example.com", "filterTypes": ["nope.missing"]}),
            "unknown event type 'nope.missing'",
        ),
        (
            json!({"url": "https://example.com", "uid": "has space"}),
            "may only contain",
        ),
        (json!({"url": "https://example.com", "secret": "short"}), "whsec_"),
        (
            json!({"url": "https://example.com", "throttleRate": 0}),
            "between 1 and 65535",
        ),
    ] {
        let (s, b) = app
            .post(&format!("/api/v1/app/{id}/endpoint"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {b}");
        assert!(b.to_string().contains(needle), "{body} -> {b}");
    }
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "bad type!", "payload": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["detail"][0]["loc"], json!(["body", "eventType"]), "{b}");
    let (s, _) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "known.type", "payload": [1]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn metadata_uids_and_retention_follow_the_svix_limits() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    for (path, body, needle) in [
        (
            "/api/v1/app".to_string(),
            json!({"name": "x", "metadata": {"tier": 3}}),
            "metadata.tier must be a string",
        ),
        (
            "/api/v1/app".to_string(),
            json!({"name": "x", "metadata": {"k": "v".repeat(4100)}}),
            "at most 4096 bytes",
        ),
        (
            "/api/v1/app".to_string(),
            json!({"name": "x", "uid": "app_lookslikeanid"}),
            "must not start with 'app_'",
        ),
        (
            format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "https://example.com", "uid": "ep_1"}),
            "must not start with 'ep_'",
        ),
        (
            format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "https://example.com", "metadata": {"on": true}}),
            "metadata.on must be a string",
        ),
        (
            format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "eventId": "msg_x"}),
            "must not start with 'msg_'",
        ),
        (
            format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "payloadRetentionPeriod": 1}),
            "between 5 and 90 days",
        ),
    ] {
        let (s, b) = app.post(&path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {b}");
        assert!(b.to_string().contains(needle), "{body} -> {b}");
    }
    // a patch is held to the same rules
    let (s, b) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/app/{id}"),
            Some(json!({"metadata": {"n": 1}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = app
        .post("/api/v1/app", json!({"name": "ok", "metadata": {"tier": "gold"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["metadata"], json!({"tier": "gold"}));
}

#[tokio::test]
async fn an_empty_filter_list_is_refused_on_create_and_means_all_on_patch() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    for (path, body, field) in [
        (
            format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "https://example.com", "filterTypes": []}),
            "filterTypes",
        ),
        (
            format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "https://example.com", "channels": []}),
            "channels",
        ),
        (
            format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "channels": []}),
            "channels",
        ),
    ] {
        let (s, b) = app.post(&path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {b}");
        assert_eq!(b["detail"][0]["loc"], json!(["body", field]), "{b}");
        assert!(b.to_string().contains("leave it out"), "{b}");
    }
    // PATCH's schema has no minimum: [] there means every type, as leaving the filter out does
    let ep = app
        .create_endpoint(&id, json!({"url": "https://example.com", "filterTypes": ["a.b"]}))
        .await;
    let (s, b) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{}", ep["id"].as_str().unwrap()),
            Some(json!({"filterTypes": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["filterTypes"], json!(null));
}

#[tokio::test]
async fn an_oversized_payload_is_a_413_and_earlier_messages_are_still_delivered() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    app.send(&id, json!({"eventType": "a.b", "payload": {"small": true}}))
        .await;
    let big = "x".repeat(70 * 1024);
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {"big": big}}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["code"], "payload_too_large");
    eventually(10, "the accepted message arrives", || async {
        (r.count() == 1).then_some(())
    })
    .await;
    assert!(r.received()[0].body.contains("small"));
}

#[tokio::test]
async fn requests_without_a_valid_api_key_are_401() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/api/v1/app", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "authentication_failed");
    let (s, _) = app
        .call_as("sk_not_a_real_key", Method::GET, "/api/v1/app", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_query_parameters_are_422_and_unknown_ones_are_ignored() {
    let app = spawn_app().await;
    let id = app.setup_app(&[]).await;
    let (s, b) = app.get(&format!("/api/v1/app/{id}/msg?before=yesterday")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["detail"][0]["loc"], json!(["query", "before"]));
    let (s, _) = app.get("/api/v1/app?order=sideways").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .get("/api/v1/app?tag=x&exclude_apps_with_no_endpoints=true")
        .await;
    assert_eq!(s, StatusCode::OK);
    // naive datetimes, as the Python SDK sends them, are taken as UTC
    let (s, _) = app
        .get(&format!("/api/v1/app/{id}/msg?after=2024-01-02T00:00:00"))
        .await;
    assert_eq!(s, StatusCode::OK);
}
