//! Scoped API keys: a key for one application reaches only that application (and reads the
//! event-type catalogue); a read-only key only reads. Out of scope is 403; another
//! organisation's or application's ids stay 404.
use crate::helpers::*;
use crate::portal::{logged_in, portal_app, portal_call};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A key made in the portal by `cookie`'s user: for `app` (empty: all), maybe read-only.
async fn portal_key(app: &TestApp, cookie: &str, name: &str, for_app: &str, read_only: bool) -> String {
    let mut form = vec![("name", name), ("app", for_app)];
    if read_only {
        form.push(("read_only", "true"));
    }
    let (s, key) = portal_call(app, cookie, "create_api_key", &form).await;
    assert_eq!(s, StatusCode::OK, "{key}");
    serde_json::from_str(&key).unwrap()
}

#[tokio::test]
async fn a_key_for_one_application_reaches_that_application_only() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let shop = portal_app(&app, &cookie, "Shop", "shop").await;
    let blog = portal_app(&app, &cookie, "Blog", "").await;
    let full = portal_key(&app, &cookie, "everything", "", false).await;
    let (s, b) = app
        .call_as(
            &full,
            Method::POST,
            "/api/v1/event-type",
            Some(json!({"name": "order.paid", "description": "d"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let key = portal_key(&app, &cookie, "shop-backend", &shop, false).await;
    let call = |m: Method, path: String, body: Option<Value>| {
        let (app, key) = (&app, &key);
        async move { app.call_as(key, m, &path, body).await }
    };

    // its own application, by id or uid: reads and changes below it
    let (s, b) = call(Method::GET, format!("/api/v1/app/{shop}"), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = call(Method::GET, "/api/v1/app/shop/endpoint".into(), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ep = json!({"url": "http://127.0.0.1:9/", "filterTypes": ["order.paid"]});
    let (s, b) = call(Method::POST, format!("/api/v1/app/{shop}/endpoint"), Some(ep)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let msg = json!({"eventType": "order.paid", "payload": {"n": 1}});
    let (s, b) = call(Method::POST, "/api/v1/app/shop/msg".into(), Some(msg.clone())).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    // the catalogue, to read
    let (s, b) = call(Method::GET, "/api/v1/event-type".into(), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // consumer-portal links to its application, for its customer
    let (s, b) = call(
        Method::POST,
        "/api/v1/auth/app-portal-access/shop".into(),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["url"].as_str().unwrap().contains("/portal/appsk_"), "{b}");
    let (s, _) = call(
        Method::POST,
        format!("/api/v1/auth/app-portal-access/{blog}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // the application itself, the organisation's lists and the catalogue's changes: 403
    for (m, path, body) in [
        (Method::DELETE, format!("/api/v1/app/{shop}"), None),
        (
            Method::PUT,
            format!("/api/v1/app/{shop}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::GET, "/api/v1/app".to_string(), None),
        (
            Method::POST,
            "/api/v1/app".to_string(),
            Some(json!({"name": "New"})),
        ),
        (
            Method::POST,
            "/api/v1/event-type".to_string(),
            Some(json!({"name": "x.y", "description": "d"})),
        ),
        (Method::GET, "/api/v1/audit-log".to_string(), None),
        (Method::GET, "/api/v1/background-task".to_string(), None),
    ] {
        let (s, b) = call(m.clone(), path.clone(), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}: {b}");
        assert!(b["detail"].as_str().unwrap().contains("one application"), "{b}");
    }
    // another application of the organisation, or of another one: as if it did not exist
    let (s, _) = call(Method::GET, format!("/api/v1/app/{blog}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(Method::POST, format!("/api/v1/app/{blog}/msg"), Some(msg)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = app.post("/api/v1/app", json!({"name": "Theirs"})).await;
    let (s, _) = call(
        Method::GET,
        format!("/api/v1/app/{}", theirs["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // the key dies with its application
    let (s, _) = app
        .call_as(&full, Method::DELETE, &format!("/api/v1/app/{shop}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    eventually(10, "the deleted application's key to stop working", || async {
        (call(Method::GET, "/api/v1/event-type".into(), None).await.0 == StatusCode::UNAUTHORIZED)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_read_only_key_reads_everything_and_changes_nothing() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let shop = portal_app(&app, &cookie, "Shop", "").await;
    let key = portal_key(&app, &cookie, "dashboards", "", true).await;
    for path in [
        "/api/v1/app".to_string(),
        format!("/api/v1/app/{shop}"),
        format!("/api/v1/app/{shop}/msg"),
        "/api/v1/event-type".to_string(),
        "/api/v1/audit-log".to_string(),
    ] {
        let (s, b) = app.call_as(&key, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
    }
    for (m, path, body) in [
        (
            Method::POST,
            "/api/v1/app".to_string(),
            Some(json!({"name": "New"})),
        ),
        (Method::DELETE, format!("/api/v1/app/{shop}"), None),
        (
            Method::POST,
            format!("/api/v1/app/{shop}/msg"),
            Some(json!({"eventType": "a", "payload": {}})),
        ),
        (
            Method::POST,
            "/api/v1/event-type".to_string(),
            Some(json!({"name": "x.y", "description": "d"})),
        ),
    ] {
        let (s, b) = app.call_as(&key, m.clone(), &path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}: {b}");
        assert!(b["detail"].as_str().unwrap().contains("read-only"), "{b}");
    }
    // and nothing happened: still one application, no message
    let (_, apps) = app.call_as(&key, Method::GET, "/api/v1/app", None).await;
    assert_eq!(apps["data"].as_array().unwrap().len(), 1);
    // another organisation's application stays 404, not 403
    let (_, theirs) = app.post("/api/v1/app", json!({"name": "Theirs"})).await;
    let path = format!("/api/v1/app/{}", theirs["id"].as_str().unwrap());
    let (s, _) = app.call_as(&key, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_key_for_an_application_of_another_organisation_cannot_be_made() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let (_, theirs) = app.post("/api/v1/app", json!({"name": "Theirs"})).await;
    let form = [("name", "sneaky"), ("app", theirs["id"].as_str().unwrap())];
    let (s, body) = portal_call(&app, &cookie, "create_api_key", &form).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (_, keys) = portal_call(&app, &cookie, "list_api_keys", &[]).await;
    assert_eq!(keys, "[]");
}

#[tokio::test]
async fn the_operator_makes_scoped_keys_on_the_command_line() {
    use crate::procs::api_key_with;
    let app = spawn_app().await;
    let id = app.setup_app(&[]).await;
    let dir = std::env::temp_dir().join(format!("hookline-cli-key-{}", &id[4..12]));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = domain::crypto::SecretBox::generate_key_base64();
    // by the application's uid, read-only
    let key = api_key_with(&app.db_url, &dir, &secret, &["--app", "app", "--read-only"]).unwrap();
    let (s, b) = app
        .call_as(&key, Method::GET, &format!("/api/v1/app/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.call_as(&key, Method::GET, "/api/v1/app", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = app
        .call_as(
            &key,
            Method::POST,
            &format!("/api/v1/app/{id}/endpoint"),
            Some(json!({"url": "http://127.0.0.1:9/"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // an application the organisation does not have: refused in words, no key made
    let err = api_key_with(&app.db_url, &dir, &secret, &["--app", "no-such-app"]).unwrap_err();
    assert!(err.contains("application not found"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
