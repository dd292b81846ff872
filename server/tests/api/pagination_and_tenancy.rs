//! Cursor pagination and organisation isolation.
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn lists_page_with_iterator_and_prev_iterator() {
    let app = spawn_app().await;
    let mut ids = vec![];
    for i in 0..5 {
        let (_, b) = app.post("/api/v1/app", json!({"name": format!("app {i}")})).await;
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let (_, p1) = app.get("/api/v1/app?limit=2").await;
    assert_eq!(p1["done"], false);
    let page1: Vec<_> = p1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page1, ids[0..2]);
    let it = p1["iterator"].as_str().unwrap();
    let (_, p2) = app.get(&format!("/api/v1/app?limit=2&iterator={it}")).await;
    let page2: Vec<_> = p2["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page2, ids[2..4]);
    let it = p2["iterator"].as_str().unwrap();
    let (_, p3) = app.get(&format!("/api/v1/app?limit=2&iterator={it}")).await;
    assert_eq!(p3["data"].as_array().unwrap().len(), 1);
    assert_eq!(p3["done"], true);
    // back from page 3 to page 2
    let prev = p3["prevIterator"].as_str().unwrap();
    let (_, back) = app.get(&format!("/api/v1/app?limit=2&iterator={prev}")).await;
    let back: Vec<_> = back["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(back, ids[2..4]);
    assert_eq!(p3["done"], true);
    let (_, back_more) = app.get(&format!("/api/v1/app?limit=2&iterator={prev}")).await;
    assert_eq!(back_more["done"], false, "page 1 lies further back");
    let first = format!("-{}", ids[2]);
    let (_, start) = app.get(&format!("/api/v1/app?limit=2&iterator={first}")).await;
    assert_eq!(start["data"].as_array().unwrap().len(), 2);
    assert_eq!(start["done"], true, "nothing before the first page");
    // descending
    let (_, d) = app.get("/api/v1/app?limit=1&order=descending").await;
    assert_eq!(d["data"][0]["id"], ids[4].as_str());
}

#[tokio::test]
async fn messages_list_newest_first_and_filter_by_event_type_and_time() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.one", "a.two"]).await;
    let first = app.send(&id, json!({"eventType": "a.one", "payload": {}})).await;
    let second = app.send(&id, json!({"eventType": "a.two", "payload": {}})).await;
    let (_, l) = app.get(&format!("/api/v1/app/{id}/msg")).await;
    assert_eq!(l["data"][0]["id"], second["id"]);
    let (_, l) = app.get(&format!("/api/v1/app/{id}/msg?event_types=a.one")).await;
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    let (_, l) = app
        .get(&format!("/api/v1/app/{id}/msg?event_types=a.one,a.two"))
        .await;
    assert_eq!(l["data"].as_array().unwrap().len(), 2);
    let ts = first["timestamp"].as_str().unwrap();
    let (_, l) = app
        .get(&format!("/api/v1/app/{id}/msg?after={}", urlencode(ts)))
        .await;
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    assert_eq!(l["data"][0]["id"], second["id"]);
    let (_, l) = app.get(&format!("/api/v1/app/{id}/msg?with_content=false")).await;
    assert_eq!(l["data"][0]["payload"], json!({}));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn another_organisations_ids_answer_404() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "https://example.com/hook"}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let m = msg["id"].as_str().unwrap();
    let other = app.other_org_key().await;
    for path in [
        format!("/api/v1/app/{id}"),
        "/api/v1/app/app".to_string(),
        format!("/api/v1/app/{id}/endpoint/{ep}"),
        format!("/api/v1/app/{id}/endpoint/{ep}/secret"),
        format!("/api/v1/app/{id}/msg/{m}"),
        format!("/api/v1/app/{id}/attempt/msg/{m}"),
        "/api/v1/event-type/a.b".to_string(),
    ] {
        let (s, b) = app.call_as(&other, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
        assert_eq!(b["code"], "not_found");
    }
    let (s, _) = app
        .call_as(&other, Method::DELETE, &format!("/api/v1/app/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = app.call_as(&other, Method::GET, "/api/v1/app", None).await;
    assert_eq!(list["data"], json!([]));
    // still there for its owner
    assert_eq!(app.get(&format!("/api/v1/app/{id}")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn attempt_filters_take_endpoint_uids_and_bound_the_attempts_own_times() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = crate::receiver::Receiver::start().await;
    r.script([crate::receiver::Reply::status(500)]);
    let ep = app
        .create_endpoint(&id, json!({"url": r.url("/"), "uid": "primary"}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    let attempts = eventually(10, "a failure, then the retry's success", || async {
        let a = app.attempts(&id, msg).await;
        (a.len() == 2).then_some(a)
    })
    .await;
    let base = format!("/api/v1/app/{id}/attempt/msg/{msg}");
    // by endpoint uid as well as id; an unknown endpoint is a 404, not an empty list
    for ep_ref in ["primary", ep] {
        let (s, l) = app.get(&format!("{base}?endpoint_id={ep_ref}")).await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert_eq!(l["data"].as_array().unwrap().len(), 2, "{ep_ref}: {l}");
    }
    let (s, _) = app.get(&format!("{base}?endpoint_id=nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // `after` the first attempt's time: only the retry, although the message is older; and
    // `before` the retry's: only the first
    for (bound, at, expected) in [("after", 0, 1), ("before", 1, 0)] {
        let at = urlencode(attempts[at]["timestamp"].as_str().unwrap());
        let (_, l) = app.get(&format!("{base}?{bound}={at}")).await;
        let got: Vec<_> = l["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        assert_eq!(got, vec![attempts[expected]["id"].clone()], "{bound}: {l}");
    }
}

#[tokio::test]
async fn an_expunged_message_cannot_be_resent() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = crate::receiver::Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let msg = msg["id"].as_str().unwrap();
    eventually(10, "delivered", || async { (r.count() == 1).then_some(()) }).await;
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/app/{id}/msg/{msg}/content"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg/{msg}/endpoint/{ep}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["code"], "missing_payload");
}

#[tokio::test]
async fn an_endpoints_messages_filter_by_sending_and_pending_apart() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = crate::receiver::Receiver::start().await;
    r.set_default(crate::receiver::Reply {
        delay: std::time::Duration::from_millis(1500),
        ..crate::receiver::Reply::status(200)
    });
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(10, "the request is in flight", || async {
        (r.count() == 1).then_some(())
    })
    .await;
    let base = format!("/api/v1/app/{id}/endpoint/{ep}/msg");
    let (_, sending) = app.get(&format!("{base}?status=3")).await;
    assert_eq!(sending["data"][0]["id"], msg["id"], "{sending}");
    assert_eq!(sending["data"][0]["status"], 3);
    let (_, pending) = app.get(&format!("{base}?status=1")).await;
    assert_eq!(pending["data"], json!([]), "in flight is not pending");
    eventually(10, "delivered", || async {
        let (_, ok) = app.get(&format!("{base}?status=0")).await;
        (ok["data"].as_array()?.len() == 1).then_some(())
    })
    .await;
}
