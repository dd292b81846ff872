//! The resource endpoints behave as the Svix API does: create, read by id or uid, update,
//! patch, delete; endpoint headers, stats and examples; event types; portal links; health.
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn applications_are_created_read_by_uid_updated_and_deleted() {
    let app = spawn_app().await;
    let (s, a) = app
        .post(
            "/api/v1/app",
            json!({"name": "Shop", "uid": "shop", "metadata": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(a["id"].as_str().unwrap().starts_with("app_"));
    let (s, _) = app
        .post("/api/v1/app", json!({"name": "Shop again", "uid": "shop"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, same) = app
        .post(
            "/api/v1/app?get_if_exists=true",
            json!({"name": "Shop again", "uid": "shop"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(same["id"], a["id"]);
    let (_, by_uid) = app.get("/api/v1/app/shop").await;
    assert_eq!(by_uid["id"], a["id"]);
    let (s, p) = app
        .call(
            Method::PATCH,
            "/api/v1/app/shop",
            Some(json!({"name": "Renamed", "uid": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["name"], "Renamed");
    assert_eq!(p["uid"], json!(null));
    assert_eq!(p["metadata"]["tier"], "gold");
    let (s, _) = app.get("/api/v1/app/shop").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, put) = app
        .call(
            Method::PUT,
            "/api/v1/app/new-one",
            Some(json!({"name": "Upserted"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(put["uid"], "new-one");
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        app.call(Method::DELETE, &format!("/api/v1/app/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/v1/app/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn endpoints_support_update_patch_headers_and_delete() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b", "c.d"]).await;
    let ep = app
        .create_endpoint(
            &id,
            json!({"url": "https://example.com/1", "uid": "main", "description": "primary"}),
        )
        .await;
    assert!(ep["id"].as_str().unwrap().starts_with("ep_"));
    let (s, p) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/main"),
            Some(json!({"filterTypes": ["a.b"], "rateLimit": 10})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["filterTypes"], json!(["a.b"]));
    assert_eq!(p["throttleRate"], 10);
    assert_eq!(p["description"], "primary");
    let (s, u) = app
        .call(
            Method::PUT,
            &format!("/api/v1/app/{id}/endpoint/main"),
            Some(json!({"url": "https://example.com/2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["url"], "https://example.com/2");
    assert_eq!(u["filterTypes"], json!(null));
    let hp = format!("/api/v1/app/{id}/endpoint/main/headers");
    assert_eq!(
        app.call(
            Method::PUT,
            &hp,
            Some(json!({"headers": {"X-Team": "billing", "Authorization": "Bearer s3cret"}}))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, h) = app.get(&hp).await;
    assert_eq!(h["headers"], json!({"X-Team": "billing"}));
    assert_eq!(h["sensitive"], json!(["Authorization"]));
    assert_eq!(
        app.call(
            Method::PATCH,
            &hp,
            Some(json!({"headers": {"X-Extra": "1", "X-Team": null}}))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, h) = app.get(&hp).await;
    assert_eq!(h["headers"], json!({"X-Extra": "1"}));
    let (s, b) = app
        .call(Method::PUT, &hp, Some(json!({"headers": {"webhook-id": "x"}})))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (_, list) = app.get(&format!("/api/v1/app/{id}/endpoint")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // Lists are newest first unless asked otherwise, as in Svix.
    let newer = app
        .create_endpoint(&id, json!({"url": "https://example.com/newer"}))
        .await;
    let (_, list) = app.get(&format!("/api/v1/app/{id}/endpoint")).await;
    assert_eq!(list["data"][0]["id"], newer["id"]);
    let (_, list) = app
        .get(&format!("/api/v1/app/{id}/endpoint?order=ascending"))
        .await;
    assert_eq!(list["data"][1]["id"], newer["id"]);
    assert_eq!(
        app.call(Method::DELETE, &format!("/api/v1/app/{id}/endpoint/main"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/v1/app/{id}/endpoint/main")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn custom_headers_are_sent_with_every_delivery() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/"), "headers": {"X-Tenant": "acme"}}))
        .await;
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(10, "delivery", || async { (r.count() == 1).then_some(()) }).await;
    assert_eq!(r.received()[0].header("x-tenant"), "acme");
}

#[tokio::test]
async fn send_example_delivers_the_event_types_example_to_one_endpoint() {
    let app = spawn_app().await;
    let (s, _) = app
        .post(
            "/api/v1/event-type",
            json!({"name": "invoice.paid", "description": "An invoice was paid",
            "schemas": {"1": {"type": "object", "examples": [{"invoiceId": "inv_1", "amount": 100}]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, a) = app.post("/api/v1/app", json!({"name": "A"})).await;
    let id = a["id"].as_str().unwrap();
    let r1 = Receiver::start().await;
    let r2 = Receiver::start().await;
    let ep = app.create_endpoint(id, json!({"url": r1.url("/")})).await;
    app.create_endpoint(id, json!({"url": r2.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let (s, m) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/send-example"),
            json!({"eventType": "invoice.paid"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    eventually(10, "example delivered", || async {
        (r1.count() == 1).then_some(())
    })
    .await;
    assert_eq!(r1.received()[0].body, r#"{"amount":100,"invoiceId":"inv_1"}"#);
    assert_eq!(r2.count(), 0);
    let (_, stats) = app.get(&format!("/api/v1/app/{id}/endpoint/{ep}/stats")).await;
    assert_eq!(
        stats,
        json!({"success": 1, "pending": 0, "sending": 0, "fail": 0, "canceled": 0})
    );
    let (_, msgs) = app.get(&format!("/api/v1/app/{id}/endpoint/{ep}/msg")).await;
    assert_eq!(msgs["data"][0]["statusText"], "success");
}

#[tokio::test]
async fn event_types_are_upserted_patched_archived_and_expunged() {
    let app = spawn_app().await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/event-type/user.created",
            Some(json!({"description": "v1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = app
        .call(
            Method::PATCH,
            "/api/v1/event-type/user.created",
            Some(json!({"deprecated": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["deprecated"], true);
    assert_eq!(e["description"], "v1");
    assert_eq!(
        app.call(Method::DELETE, "/api/v1/event-type/user.created", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, l) = app.get("/api/v1/event-type").await;
    assert_eq!(l["data"], json!([]));
    let (_, l) = app.get("/api/v1/event-type?include_archived=true").await;
    assert_eq!(l["data"][0]["archived"], true);
    // Creating an archived type's name brings it back with the new fields; a live one is 409.
    let schema = json!({"1": {"type": "object"}});
    let (s, e) = app
        .post(
            "/api/v1/event-type",
            json!({"name": "user.created", "description": "v2", "schemas": schema}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(
        (e["archived"].clone(), e["description"].clone()),
        (json!(false), json!("v2"))
    );
    let (s, e) = app
        .post(
            "/api/v1/event-type",
            json!({"name": "user.created", "description": "v3"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    // Lists leave the schemas out unless asked (`with_content`, default false).
    let (_, l) = app.get("/api/v1/event-type").await;
    assert_eq!(l["data"][0]["schemas"], json!(null));
    let (_, l) = app.get("/api/v1/event-type?with_content=true").await;
    assert_eq!(l["data"][0]["schemas"], schema);
    assert_eq!(
        app.call(
            Method::DELETE,
            "/api/v1/event-type/user.created?expunge=true",
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/event-type/user.created").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn app_portal_access_returns_a_working_link_scoped_to_the_app() {
    let app = spawn_app().await;
    let id = app.setup_app(&[]).await;
    let (s, b) = app
        .post(&format!("/api/v1/auth/app-portal-access/{id}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let url = b["url"].as_str().unwrap();
    assert!(url.starts_with(&app.base), "{url}");
    // the link opens a session for the app's consumer portal (portal_pages.rs tests it whole)
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = no_redirects.get(url).send().await.unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert_eq!(page.headers()["location"], format!("/portal/app/{id}").as_str());
    let bad = app
        .client
        .get(format!("{}/portal/appsk_forged", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    // an expired link is refused
    sqlx::query("UPDATE portal_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = app.client.get(url).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .post("/api/v1/auth/app-portal-access/app_doesnotexist", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_metrics_and_docs_are_served() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/v1/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let id = app.setup_app(&["a.b"]).await;
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let m = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("hookline_messages_ingested_total"), "{m}");
    assert!(m.contains("hookline_queue_depth"));
    let spec: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["info"]["title"], "Hookline API");
    let docs = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/api/v1/app/{app_id}/msg"));
}
