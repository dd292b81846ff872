//! The audit log: every change is recorded with its actor, in the change's transaction, and
//! never with a secret; readable through the API (filtered, per organisation) and the portal.
use crate::helpers::*;
use crate::portal::{logged_in, portal_app, portal_call};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn entries(app: &TestApp, key: &str, query: &str) -> (Vec<Value>, String) {
    let r = app
        .client
        .get(format!("{}/api/v1/audit-log{query}", app.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    (v["data"].as_array().unwrap().clone(), text)
}

fn actions(list: &[Value]) -> Vec<&str> {
    list.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_change_through_the_api_is_recorded_with_its_key_and_without_secrets() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (s, b) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/hook"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/api/v1/app/{id}/endpoint/{ep}");
    let ok = |(s, b): (StatusCode, Value)| assert!(s.is_success(), "{s} {b}");
    ok(app
        .call(Method::PATCH, &base, Some(json!({"description": "billing"})))
        .await);
    ok(app
        .call(Method::PATCH, &base, Some(json!({"disabled": true})))
        .await);
    ok(app
        .call(Method::PATCH, &base, Some(json!({"disabled": false})))
        .await);
    let (_, shown) = app.get(&format!("{base}/secret")).await;
    let (_, rotated) = app.post(&format!("{base}/secret/rotate"), json!({})).await;
    ok(app
        .call(
            Method::PUT,
            &format!("{base}/headers"),
            Some(json!({"headers": {"X-Api-Token": "hunter2-header-value"}})),
        )
        .await);
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let since = json!({"since": "2020-01-01T00:00:00Z"});
    ok(app.post(&format!("{base}/recover"), since.clone()).await);
    ok(app.post(&format!("{base}/replay-missing"), since).await);
    ok(app
        .post(
            &format!("/api/v1/app/{id}/msg/{msg}/endpoint/{ep}/resend"),
            json!({}),
        )
        .await);
    ok(app.call(Method::DELETE, &base, None).await);
    ok(app.call(Method::DELETE, &format!("/api/v1/app/{id}"), None).await);
    // a refused change is not recorded
    let (s, _) = app.call(Method::DELETE, &base, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (log, text) = entries(&app, &app.key, "?order=ascending&limit=250").await;
    // the operator made the test's key on the command line
    assert_eq!(log[0]["actor"], json!({"kind": "operator", "name": "cli"}));
    assert_eq!(log[0]["action"], "api_key.created");
    let log = &log[1..];
    assert_eq!(
        actions(log),
        [
            "application.created",
            "application.updated",
            "endpoint.created",
            "endpoint.updated",
            "endpoint.disabled",
            "endpoint.enabled",
            "endpoint.secret_revealed",
            "endpoint.secret_rotated",
            "endpoint.updated",
            "endpoint.recovered",
            "endpoint.replayed",
            "message.resent",
            "endpoint.deleted",
            "application.deleted",
        ]
    );
    let prefix = &app.key[..10];
    for e in log {
        assert_eq!(e["actor"], json!({"kind": "api_key", "name": prefix}), "{e}");
        assert_eq!(e["appId"], json!(id), "{e}");
    }
    assert_eq!(log[1]["details"]["fields"], json!(["name"]));
    assert_eq!(log[3]["details"]["fields"], json!(["description"]));
    assert_eq!(log[8]["details"]["fields"], json!(["headers"]));
    assert_eq!(log[11]["target"], json!(msg));
    assert_eq!(log[12]["target"], json!(ep));
    // never a secret: not the signing secrets, a header's value, nor the key itself
    for secret in [
        shown["key"].as_str().unwrap(),
        rotated["key"].as_str().unwrap(),
        "hunter2-header-value",
        &app.key,
    ] {
        assert!(!text.contains(secret), "{secret} in the audit log: {text}");
    }

    // filters: action, actor (any part of its name), application (by id, even deleted)
    let (deleted, _) = entries(&app, &app.key, "?action=endpoint.deleted").await;
    assert_eq!(actions(&deleted), ["endpoint.deleted"]);
    let (mine, _) = entries(&app, &app.key, &format!("?actor={}", &prefix[3..])).await;
    assert_eq!(mine.len(), log.len());
    let (none, _) = entries(&app, &app.key, "?actor=nobody@example.com").await;
    assert!(none.is_empty());
    let (by_app, _) = entries(&app, &app.key, &format!("?app_id={id}&limit=2")).await;
    assert_eq!(
        actions(&by_app),
        ["application.deleted", "endpoint.deleted"],
        "newest first"
    );
    let (s, body) = app.get("/api/v1/audit-log?action=endpoint.exploded").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().contains("unknown action 'endpoint.exploded'"),
        "{body}"
    );

    // another organisation sees none of it
    let other = app.other_org_key().await;
    let (theirs, _) = entries(&app, &other, "").await;
    assert_eq!(
        actions(&theirs),
        ["api_key.created"],
        "only its own key's making: {theirs:?}"
    );
}

#[tokio::test]
async fn portal_changes_name_the_person_and_the_portal_shows_the_log() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let shop = portal_app(&app, &cookie, "Shop", "").await;
    let shop = shop.as_str();
    let form = [("name", "shop-reader"), ("app", shop), ("read_only", "true")];
    let (s, key) = portal_call(&app, &cookie, "create_api_key", &form).await;
    assert_eq!(s, StatusCode::OK, "{key}");
    let (_, keys) = portal_call(&app, &cookie, "list_api_keys", &[]).await;
    let keys: Value = serde_json::from_str(&keys).unwrap();
    let key_id = keys[0]["id"].as_str().unwrap();
    assert_eq!(
        (keys[0]["appName"].as_str(), keys[0]["readOnly"].as_bool()),
        (Some("Shop"), Some(true))
    );
    let (s, body) = portal_call(&app, &cookie, "revoke_api_key", &[("id", key_id)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let form = [
        ("current", "analytical engine 1843"),
        ("password", "difference engine 1822"),
        ("confirm", "difference engine 1822"),
    ];
    let (s, body) = portal_call(&app, &cookie, "change_password", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, page) = portal_call(&app, &cookie, "audit_log", &[]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let page: Value = serde_json::from_str(&page).unwrap();
    let log = page["entries"].as_array().unwrap();
    assert_eq!(
        actions(log),
        [
            "user.password_changed",
            "api_key.revoked",
            "api_key.created",
            "application.created"
        ]
    );
    for e in log {
        assert_eq!(
            e["actor"],
            json!({"kind": "user", "name": "ada@example.com"}),
            "{e}"
        );
    }
    assert_eq!(log[2]["appId"], json!(shop));
    assert_eq!(log[2]["details"]["readOnly"], json!(true));
    assert!(
        !page.to_string().contains(key.trim_matches('"')),
        "the key itself is never kept"
    );
    // the page's filters reach the same query
    let (_, page) = portal_call(
        &app,
        &cookie,
        "audit_log",
        &[("query[action]", "api_key.revoked")],
    )
    .await;
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(actions(page["entries"].as_array().unwrap()), ["api_key.revoked"]);
    // the person's organisation only: the API's test organisation sees only its own key made
    let (theirs, _) = entries(&app, &app.key, "").await;
    assert_eq!(actions(&theirs), ["api_key.created"], "{theirs:?}");
    assert_eq!(theirs[0]["actor"]["kind"], "operator");
}

#[tokio::test]
async fn a_consumer_portal_link_is_named_by_its_application() {
    let app = spawn_app().await;
    let id = app.setup_app(&[]).await;
    let (s, access) = app
        .post(&format!("/api/v1/auth/app-portal-access/{id}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{access}");
    let token = access["token"].as_str().unwrap();
    let (s, ep) = app
        .call_as(
            token,
            Method::POST,
            &format!("/api/v1/app/{id}/endpoint"),
            Some(json!({"url": "http://127.0.0.1:9/"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ep}");
    let (log, _) = entries(&app, &app.key, "?action=endpoint.created").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["actor"], json!({"kind": "portal_link", "name": id}));
    assert_eq!(log[0]["target"], ep["id"]);
}
