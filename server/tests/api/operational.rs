//! Operational webhooks: Svix's `/api/v1/operational-webhook/endpoint` API, and the events
//! Hookline sends there, through its own delivery path, to a real receiver.
use crate::helpers::*;
use crate::receiver::{Received, Receiver, Reply};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const OPS: &str = "/api/v1/operational-webhook/endpoint";

/// Standard Webhooks check, written out here so the test does not trust Hookline's code.
fn verifies(secret: &str, r: &Received) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(
        format!(
            "{}.{}.{}",
            r.header("webhook-id"),
            r.header("webhook-timestamp"),
            r.body
        )
        .as_bytes(),
    );
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    r.header("webhook-signature")
        .split(' ')
        .any(|s| s == format!("v1,{sig}"))
}

/// The operational events a receiver got, as `(type, data)`, in arrival order.
fn events(r: &Receiver) -> Vec<(String, Value)> {
    r.received()
        .iter()
        .map(|x| {
            let v: Value = serde_json::from_str(&x.body).unwrap();
            (v["type"].as_str().unwrap().to_string(), v["data"].clone())
        })
        .collect()
}

async fn wait_for(r: &Receiver, event: &str) -> Value {
    eventually(20, event, || async {
        events(r).into_iter().find(|(t, _)| t == event).map(|(_, d)| d)
    })
    .await
}

#[tokio::test]
async fn the_api_follows_svix_and_is_scoped_to_the_organisation() {
    let app = spawn_app().await;
    let (s, b) = app
        .post(
            OPS,
            json!({"url": "http://127.0.0.1:9/ops", "eventTypes": ["endpoint.disabled"], "uid": "pager",
                   "throttleRate": 5, "metadata": {"team": "ops"}, "headers": {"X-Team": "ops"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ep_"));
    assert_eq!(b["eventTypes"], json!(["endpoint.disabled"]));
    assert_eq!(b["throttleRate"], 5);
    assert_eq!(b["metadata"], json!({"team": "ops"}));
    assert!(b.get("filterTypes").is_none(), "Svix's operational shape: {b}");
    for key in ["createdAt", "updatedAt", "description", "disabled"] {
        assert!(b.get(key).is_some(), "{key} in {b}");
    }

    // by id and by uid; listed; secret, headers
    assert_eq!(app.get(&format!("{OPS}/pager")).await.1["id"], id);
    let (s, list) = app.get(OPS).await;
    assert_eq!(
        (s.as_u16(), list["data"].as_array().unwrap().len()),
        (200, 1),
        "{list}"
    );
    assert_eq!(list["done"], true);
    assert!(list.get("iterator").is_some());
    let (_, secret) = app.get(&format!("{OPS}/{id}/secret")).await;
    let key = secret["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("whsec_"));
    let (_, h) = app.get(&format!("{OPS}/{id}/headers")).await;
    assert_eq!(h["headers"]["X-Team"], "ops");
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{OPS}/{id}/headers"),
            Some(json!({"headers": {"X-Other": "1"}})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, h) = app.get(&format!("{OPS}/{id}/headers")).await;
    assert_eq!(h["headers"], json!({"X-Other": "1"}), "PUT replaces the set");
    let (s, _) = app.post(&format!("{OPS}/{id}/secret/rotate"), json!({})).await;
    assert_eq!(s, 204);
    let (_, rotated) = app.get(&format!("{OPS}/{id}/secret")).await;
    assert_ne!(rotated["key"], secret["key"]);

    // PUT: update, and create under a new uid
    let (s, b) = app
        .call(
            Method::PUT,
            &format!("{OPS}/{id}"),
            Some(json!({"url": "http://127.0.0.1:9/v2", "disabled": true})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["url"].as_str()),
        (200, Some("http://127.0.0.1:9/v2")),
        "{b}"
    );
    assert_eq!(b["uid"], "pager", "the uid stays");
    let (s, b) = app
        .call(
            Method::PUT,
            &format!("{OPS}/second"),
            Some(json!({"url": "http://127.0.0.1:9/2"})),
        )
        .await;
    assert_eq!((s.as_u16(), b["uid"].as_str()), (201, Some("second")), "{b}");

    // bad input: clear 422s naming the field
    let (s, b) = app
        .post(
            OPS,
            json!({"url": "http://127.0.0.1:9/", "eventTypes": ["invoice.paid"]}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("not an operational event"), "{b}");
    let (s, b) = app
        .post(OPS, json!({"url": "http://127.0.0.1:9/", "eventTypes": []}))
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = app
        .post(OPS, json!({"url": "http://127.0.0.1:9/", "filterType": ["x"]}))
        .await;
    assert_eq!(s, 422, "an unknown field is refused, not ignored: {b}");
    let (s, _) = app.post(OPS, json!({"url": "not a url"})).await;
    assert_eq!(s, 422);

    // the operational application is not an application of the API or a target of ingest
    let (_, apps) = app.get("/api/v1/app").await;
    assert_eq!(apps["data"], json!([]), "{apps}");
    let op_app: String = sqlx::query_scalar("SELECT app_id FROM endpoints WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (s, _) = app.get(&format!("/api/v1/app/{op_app}")).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &format!("/api/v1/app/{op_app}/msg"),
            json!({"eventType": "endpoint.deleted", "payload": {}}),
        )
        .await;
    assert_eq!(s, 404, "nobody can forge an operational event");
    let (s, _) = app.get(&format!("/api/v1/app/{op_app}/endpoint/{id}")).await;
    assert_eq!(s, 404);

    // another organisation sees none of it
    let other = app.other_org_key().await;
    let (s, _) = app
        .call_as(&other, Method::GET, &format!("{OPS}/{id}"), None)
        .await;
    assert_eq!(s, 404);
    let (_, list) = app.call_as(&other, Method::GET, OPS, None).await;
    assert_eq!(list["data"], json!([]));
    let (s, _) = app
        .call_as(&other, Method::DELETE, &format!("{OPS}/{id}"), None)
        .await;
    assert_eq!(s, 404);

    let (s, _) = app.call(Method::DELETE, &format!("{OPS}/{id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&format!("{OPS}/{id}")).await.0, 404);
}

#[tokio::test]
async fn endpoint_changes_are_told_signed_through_the_delivery_path() {
    let app = spawn_app().await;
    let ops = Receiver::start().await;
    let (_, op) = app.post(OPS, json!({"url": ops.url("/ops")})).await;
    let op_id = op["id"].as_str().unwrap().to_string();
    let (_, secret) = app.get(&format!("{OPS}/{op_id}/secret")).await;
    let secret = secret["key"].as_str().unwrap().to_string();

    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/", "uid": "billing"}))
        .await;
    let ep = ep["id"].as_str().unwrap().to_string();
    let created = wait_for(&ops, "endpoint.created").await;
    assert_eq!(
        created,
        json!({"appId": id, "appUid": "app", "endpointId": ep, "endpointUid": "billing"})
    );
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{ep}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    let disabled = wait_for(&ops, "endpoint.disabled").await;
    assert_eq!(disabled["trigger"], "manual");
    assert_eq!(disabled["endpointId"], ep);
    app.call(
        Method::PATCH,
        &format!("/api/v1/app/{id}/endpoint/{ep}"),
        Some(json!({"disabled": false})),
    )
    .await;
    wait_for(&ops, "endpoint.enabled").await;
    app.call(Method::DELETE, &format!("/api/v1/app/{id}/endpoint/{ep}"), None)
        .await;
    let deleted = wait_for(&ops, "endpoint.deleted").await;
    assert_eq!(deleted["endpointUid"], "billing");

    // (the update and the disable of one PATCH are two messages: either may arrive first)
    let mut kinds: Vec<String> = events(&ops).into_iter().map(|(t, _)| t).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "endpoint.created",
            "endpoint.deleted",
            "endpoint.disabled",
            "endpoint.enabled",
            "endpoint.updated",
            "endpoint.updated"
        ],
        "each once, and nothing about the operational endpoint itself"
    );
    for r in ops.received() {
        assert!(
            verifies(&secret, &r),
            "signed with the operational endpoint's secret"
        );
        assert!(r.msg_id().starts_with("msg_"));
    }
    // logged like any delivery: attempts are in the database
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts WHERE endpoint_id = $1")
        .bind(&op_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 6);
}

#[tokio::test]
async fn failing_exhausted_and_recovered_deliveries_and_an_automatic_disable_are_told() {
    let app = spawn_app_with(|s| {
        s.delivery.retry.schedule = vec![Duration::from_millis(200); 5];
        s.delivery.failing_after = 2;
        s.delivery.breaker.failure_threshold = 100;
    })
    .await;
    let ops = Receiver::start().await;
    let (_, op) = app
        .post(
            OPS,
            json!({"url": ops.url("/ops"), "eventTypes": [
                "message.attempt.failing", "message.attempt.exhausted", "message.attempt.recovered"]}),
        )
        .await;
    assert!(op["id"].is_string(), "{op}");
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap().to_string();

    // fails twice, then succeeds: failing after the second, recovered after the third
    r.script([Reply::status(500), Reply::status(500)]);
    let m = app
        .send(
            &id,
            json!({"eventType": "a.b", "eventId": "evt-1", "payload": {"n": 1}}),
        )
        .await;
    let msg = m["id"].as_str().unwrap();
    let recovered = wait_for(&ops, "message.attempt.recovered").await;
    assert_eq!(recovered["msgId"], msg);
    assert_eq!(recovered["msgEventId"], "evt-1");
    assert_eq!(recovered["endpointId"], ep);
    assert_eq!(recovered["appUid"], "app");
    assert_eq!(recovered["lastAttempt"]["responseStatusCode"], 200);
    let failing = wait_for(&ops, "message.attempt.failing").await;
    assert_eq!(failing["lastAttempt"]["responseStatusCode"], 500);
    let attempts = app.attempts(&id, msg).await;
    assert_eq!(
        failing["lastAttempt"]["id"], attempts[1]["id"],
        "the second attempt"
    );

    // fails every time: exhausted once the schedule is spent
    r.set_default(Reply::status(503));
    let m = app
        .send(&id, json!({"eventType": "a.b", "payload": {"n": 2}}))
        .await;
    let msg2 = m["id"].as_str().unwrap().to_string();
    let exhausted = eventually(30, "exhausted", || async {
        events(&ops)
            .into_iter()
            .find(|(t, d)| t == "message.attempt.exhausted" && d["msgId"] == msg2.as_str())
            .map(|(_, d)| d)
    })
    .await;
    assert_eq!(exhausted["lastAttempt"]["responseStatusCode"], 503);
    assert_eq!(app.attempts(&id, &msg2).await.len(), 6);
    let kinds: Vec<String> = events(&ops).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        kinds.iter().filter(|t| *t == "message.attempt.failing").count(),
        2,
        "one per delivery: {kinds:?}"
    );
    assert!(
        !kinds.iter().any(|t| t.starts_with("endpoint.")),
        "its filter holds: {kinds:?}"
    );
}

#[tokio::test]
async fn an_endpoint_disabled_for_failing_too_long_is_told_with_when_it_began() {
    let app = spawn_app_with(|s| {
        s.delivery.breaker.disable_after = Duration::from_secs(1);
        s.delivery.breaker.failure_threshold = 100;
        s.delivery.retry.schedule = vec![Duration::from_millis(700); 6];
    })
    .await;
    let ops = Receiver::start().await;
    app.post(
        OPS,
        json!({"url": ops.url("/ops"), "eventTypes": ["endpoint.disabled"]}),
    )
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let d = wait_for(&ops, "endpoint.disabled").await;
    assert_eq!(d["trigger"], "automatic");
    assert_eq!(d["endpointId"], ep["id"]);
    assert!(d["failSince"].is_string(), "{d}");
    assert_eq!(events(&ops).len(), 1, "exactly once");
}

#[tokio::test]
async fn a_finished_recovery_is_told() {
    let app = spawn_app().await;
    let ops = Receiver::start().await;
    app.post(
        OPS,
        json!({"url": ops.url("/ops"), "eventTypes": ["background_task.finished"]}),
    )
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let (s, task) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
            json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, 202, "{task}");
    let d = wait_for(&ops, "background_task.finished").await;
    assert_eq!(d["taskId"], task["id"]);
    assert_eq!(d["task"], "endpoint.recover");
    assert_eq!(d["status"], "finished");
    assert!(d["data"].is_object());
}

/// The portal's Notifications page at the HTTP level: a Slack-compatible destination gets a
/// readable sentence (not the signed JSON), a test reaches it whatever its events, bad input
/// is refused in words, another organisation cannot touch it, and the history says it arrived.
#[tokio::test]
async fn the_portal_makes_a_slack_destination_that_gets_sentences() {
    use crate::portal::{logged_in, portal_call};
    let app = spawn_app().await;
    let cookie = logged_in(&app, "grace@example.com", "Cobol").await;
    let slack = Receiver::start().await;
    let (s, body) = portal_call(
        &app,
        &cookie,
        "add_destination",
        &[
            ("kind", "slack"),
            ("url", &slack.url("/hook")),
            ("events[0]", "endpoint.disabled"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let dest: Value = serde_json::from_str(&body).unwrap();
    let dest_id = dest["id"].as_str().unwrap().to_string();
    // nothing ticked, or a kind that does not exist: said in words, nothing made
    let (s, body) = portal_call(
        &app,
        &cookie,
        "add_destination",
        &[("kind", "slack"), ("url", &slack.url("/"))],
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("Choose at least one event"), "{body}");
    let (s, body) = portal_call(
        &app,
        &cookie,
        "add_destination",
        &[
            ("kind", "pigeon"),
            ("url", &slack.url("/")),
            ("events[0]", "endpoint.disabled"),
        ],
    )
    .await;
    assert_eq!(s, 422, "{body}");

    let (s, body) = portal_call(&app, &cookie, "test_destination", &[("endpoint", &dest_id)]).await;
    assert_eq!(s, 200, "{body}");
    eventually(10, "the test", || async { (slack.count() == 1).then_some(()) }).await;
    let first: Value = serde_json::from_str(&slack.received()[0].body).unwrap();
    assert_eq!(
        first,
        json!({"text": ":wave: A test from Hookline: its notifications reach this channel."})
    );

    // an endpoint disabled by hand, told in a sentence with a link into the portal
    let (_, body) = portal_call(&app, &cookie, "create_app", &[("name", "Billing"), ("uid", "")]).await;
    let billing: Value = serde_json::from_str(&body).unwrap();
    let app_id = billing["id"].as_str().unwrap().to_string();
    let (_, body) = portal_call(
        &app,
        &cookie,
        "add_endpoint",
        &[
            ("app", &app_id),
            ("url", "http://127.0.0.1:9/"),
            ("description", ""),
            ("channels", ""),
            ("rate_limit", ""),
        ],
    )
    .await;
    let ep: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let ep_id = ep["id"].as_str().unwrap().to_string();
    let (s, body) = portal_call(
        &app,
        &cookie,
        "set_endpoint_enabled",
        &[("app", &app_id), ("endpoint", &ep_id), ("enabled", "false")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    eventually(10, "the disabled endpoint", || async {
        (slack.count() == 2).then_some(())
    })
    .await;
    let told: Value = serde_json::from_str(&slack.received()[1].body).unwrap();
    let text = told["text"].as_str().unwrap();
    assert!(text.starts_with(":red_circle: Endpoint <"), "{text}");
    assert!(
        text.contains(&format!("/apps/{app_id}/endpoint/{ep_id}|{ep_id}>")),
        "{text}"
    );
    assert!(text.contains("(by hand)"), "{text}");
    assert_eq!(
        slack.count(),
        2,
        "only the ticked event: not endpoint.created or updated"
    );

    let (s, body) = portal_call(&app, &cookie, "notifications_view", &[]).await;
    assert_eq!(s, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["destinations"][0]["slack"], true);
    let sent = view["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 2, "{view}");
    assert_eq!(sent[0]["event_type"], "endpoint.disabled");
    assert!(
        sent[0]["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("Endpoint {ep_id} of")),
        "{view}"
    );
    eventually(10, "recorded as arrived", || async {
        let (_, body) = portal_call(&app, &cookie, "notifications_view", &[]).await;
        let view: Value = serde_json::from_str(&body).unwrap();
        let ok = view["sent"]
            .as_array()?
            .iter()
            .all(|s| s["deliveries"][0]["status"] == 0 && s["deliveries"][0]["last_status_code"] == 200);
        ok.then_some(())
    })
    .await;

    // another organisation's session cannot test or delete it
    let other = logged_in(&app, "mallory@example.com", "Other").await;
    let (s, _) = portal_call(&app, &other, "test_destination", &[("endpoint", &dest_id)]).await;
    assert_eq!(s, 404);
    let (s, _) = portal_call(&app, &other, "delete_destination", &[("endpoint", &dest_id)]).await;
    assert_eq!(s, 404);
    let (s, _) = portal_call(&app, &cookie, "delete_destination", &[("endpoint", &dest_id)]).await;
    assert_eq!(s, 200);
}
