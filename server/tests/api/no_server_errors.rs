//! Input PostgreSQL or the router cannot take gets a 4xx with a JSON body, never a 500 or the
//! portal's HTML page: NUL and broken UTF-8 in queries, paths, headers and JSON strings,
//! unknown paths and methods, and fields Svix gives meaning to that Hookline does not run.
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn raw(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{}", app.base, path))
        .bearer_auth(&app.key);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "{status} {path}: not JSON ({ct}): {text}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

fn loc(b: &Value) -> Vec<String> {
    b["detail"][0]["loc"]
        .as_array()
        .unwrap_or_else(|| panic!("no loc in {b}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn nul_and_broken_utf8_in_queries_and_paths_are_4xx() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (s, b) = raw(&app, Method::GET, "/api/v1/app?iterator=%00%ff", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(loc(&b), ["query", "iterator"]);
    let (s, b) = raw(
        &app,
        Method::GET,
        &format!("/api/v1/app/{id}/msg?channel=a%00"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(loc(&b), ["query", "channel"]);
    for path in [
        "/api/v1/app/a%00b",
        "/api/v1/app/%ff%fe/endpoint",
        "/api/v1/event-type/x%00",
    ] {
        let (s, b) = raw(&app, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert_eq!(b["code"], "invalid_path");
    }
}

#[tokio::test]
async fn nul_in_any_stored_string_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let cases: Vec<(Method, String, &str, Vec<&str>)> = vec![
        (
            Method::POST,
            "/api/v1/app".into(),
            r#"{"name":"a\u0000"}"#,
            vec!["body", "name"],
        ),
        (
            Method::PUT,
            format!("/api/v1/app/{id}"),
            r#"{"name":"x","metadata":{"k":"\u0000"}}"#,
            vec!["body", "metadata", "k"],
        ),
        (
            Method::PATCH,
            format!("/api/v1/app/{id}"),
            r#"{"name":"\u0000"}"#,
            vec!["body", "name"],
        ),
        (
            Method::POST,
            "/api/v1/event-type".into(),
            r#"{"name":"c.d","description":"\u0000"}"#,
            vec!["body", "description"],
        ),
        (
            Method::POST,
            "/api/v1/event-type".into(),
            r#"{"name":"c.d","description":"x","schemas":{"1":{"title":"\u0000"}}}"#,
            vec!["body", "schemas", "1", "title"],
        ),
        (
            Method::POST,
            format!("/api/v1/app/{id}/endpoint"),
            r#"{"url":"http://127.0.0.1:9/","description":"\u0000"}"#,
            vec!["body", "description"],
        ),
        (
            Method::PATCH,
            format!("/api/v1/app/{id}/endpoint/{ep}"),
            r#"{"metadata":{"a":"b\u0000"}}"#,
            vec!["body", "metadata", "a"],
        ),
        (
            Method::PUT,
            format!("/api/v1/app/{id}/endpoint/{ep}/headers"),
            r#"{"headers":{"X-A":"\u0000"}}"#,
            vec!["body", "headers", "X-A"],
        ),
        (
            Method::POST,
            format!("/api/v1/app/{id}/msg"),
            r#"{"eventType":"a.b","payload":{},"channels":["x\u0000"]}"#,
            vec!["body", "channels", "0"],
        ),
    ];
    for (method, path, body, want) in cases {
        let (s, b) = raw(&app, method.clone(), &path, Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {b}");
        assert_eq!(loc(&b), want, "{method} {path} {body}");
    }
    // Inside the payload NUL is just text: kept byte for byte, and delivered as sent.
    let (s, b) = raw(
        &app,
        Method::POST,
        &format!("/api/v1/app/{id}/msg"),
        Some(r#"{"eventType":"a.b","payload":{"s":"a\u0000b"}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["payload"]["s"], "a\u{0}b");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let app = spawn_app().await;
    let id = app.setup_app(&[]).await;
    for path in [
        "/api/v1/nope",
        "/api",
        "/api/v2/app",
        &format!("/api/v1/app/{id}/frobnicate"),
    ] {
        let (s, b) = raw(&app, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
        assert_eq!(b["code"], "not_found");
    }
    let resp = app
        .client
        .delete(format!("{}/api/v1/app", app.base))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "method_not_allowed");
}

#[tokio::test]
async fn header_values_that_are_not_ascii_are_4xx() {
    let app = spawn_app().await;
    let bytes = reqwest::header::HeaderValue::from_bytes(b"k\xff\xfe").unwrap();
    let resp = app
        .client
        .post(format!("{}/api/v1/app", app.base))
        .bearer_auth(&app.key)
        .header("idempotency-key", bytes.clone())
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "invalid_header", "{b}");
    let resp = app
        .client
        .get(format!("{}/api/v1/app", app.base))
        .header("authorization", bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn fields_svix_acts_on_are_never_dropped_silently() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    // an unknown field is refused by name, not ignored
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "http://127.0.0.1:9/", "filterTypez": ["a.b"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["detail"][0]["msg"].as_str().unwrap().contains("filterTypez"),
        "{b}"
    );
    // Svix Cloud's transformations are not run here: refused by name, not dropped
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "transformationsParams": {"x": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(loc(&b), ["body", "transformationsParams", "x"]);
    // scheduled more than a day ahead
    let later = (chrono::Utc::now() + chrono::Duration::hours(25)).to_rfc3339();
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "deliverAt": later}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(loc(&b), ["body", "deliverAt"]);
    // event-type schemas must be objects of objects, as the document says
    for schemas in [
        json!("AAA"),
        json!([null]),
        json!({"1": null}),
        json!({"1": "AAA"}),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/event-type",
                json!({"name": "x.y", "description": "d", "schemas": schemas}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{schemas}: {b}");
    }
    // portal capabilities that fit neither of Hookline's two portal modes
    let (s, b) = app
        .post(
            &format!("/api/v1/auth/app-portal-access/{id}"),
            json!({"capabilities": ["ViewBase", "ManageEndpoint"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(loc(&b), ["body", "capabilities"]);
}
