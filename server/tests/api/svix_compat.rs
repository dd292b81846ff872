//! Svix features the SDKs reach: filterTypes, deliverAt, tags, with_msg, the older attempt
//! paths, background tasks (recover, replay-missing), dashboard access, app-scoped tokens and
//! the application's throttle.
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn filter_types_is_the_wire_name_and_routes() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b", "c.d"]).await;
    let only_ab = Receiver::start().await;
    let ep = app
        .create_endpoint(&id, json!({"url": only_ab.url("/"), "filterTypes": ["a.b"]}))
        .await;
    // written under both names: 1.x SDKs read filterTypes, the 2.x Python and Rust SDKs eventTypes
    assert_eq!(ep["filterTypes"], json!(["a.b"]));
    assert_eq!(ep["eventTypes"], json!(["a.b"]));
    let cd = app.send(&id, json!({"eventType": "c.d", "payload": {}})).await;
    let ab = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    eventually(10, "a.b delivered", || async {
        (only_ab.count() == 1).then_some(())
    })
    .await;
    // the c.d message was older: had it been routed there, it would have arrived first
    assert_eq!(only_ab.received()[0].msg_id(), ab["id"]);
    let (_, dests) = app
        .get(&format!(
            "/api/v1/app/{id}/msg/{}/endpoint",
            cd["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(dests["data"], json!([]), "c.d must have no destination");
}

#[tokio::test]
async fn deliver_at_schedules_the_delivery_and_tags_filter_lists() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let m = app
        .send(
            &id,
            json!({"eventType": "a.b", "payload": {"n": 1}, "deliverAt": at.to_rfc3339(), "tags": ["vip", "eu"]}),
        )
        .await;
    assert_eq!(m["tags"], json!(["vip", "eu"]));
    let scheduled = chrono::DateTime::parse_from_rfc3339(m["deliverAt"].as_str().unwrap()).unwrap();
    assert!((scheduled.to_utc() - at).num_milliseconds().abs() < 2);
    app.send(&id, json!({"eventType": "a.b", "payload": {"n": 2}}))
        .await;
    eventually(10, "the unscheduled one", || async {
        (r.count() >= 1).then_some(())
    })
    .await;
    eventually(10, "the scheduled one", || async {
        (r.count() == 2).then_some(())
    })
    .await;
    let got = r.received();
    assert!(
        got[0].body.contains("\"n\": 2") || got[0].body.contains("\"n\":2"),
        "{}",
        got[0].body
    );
    let mid = m["id"].as_str().unwrap();
    let attempts = app.attempts(&id, mid).await;
    let sent_at = chrono::DateTime::parse_from_rfc3339(attempts[0]["timestamp"].as_str().unwrap()).unwrap();
    assert!(sent_at.to_utc() >= at, "sent at {sent_at}, scheduled for {at}");

    let (_, tagged) = app.get(&format!("/api/v1/app/{id}/msg?tag=vip")).await;
    let ids: Vec<_> = tagged["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![m["id"].clone()]);
    let (_, none) = app.get(&format!("/api/v1/app/{id}/msg?tag=nobody")).await;
    assert_eq!(none["data"], json!([]));
    let (s, b) = app
        .post(
            &format!("/api/v1/app/{id}/msg"),
            json!({"eventType": "a.b", "payload": {}, "tags": ["bad tag"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}

#[tokio::test]
async fn attempt_lists_attach_the_message_and_serve_the_older_paths() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let ep = ep["id"].as_str().unwrap();
    let m = app
        .send(
            &id,
            json!({"eventType": "a.b", "payload": {"k": "v"}, "tags": ["t1"]}),
        )
        .await;
    let mid = m["id"].as_str().unwrap();
    eventually(10, "delivered", || async { (r.count() == 1).then_some(()) }).await;
    eventually(10, "recorded", || async {
        (!app.attempts(&id, mid).await.is_empty()).then_some(())
    })
    .await;
    let (s, b) = app
        .get(&format!("/api/v1/app/{id}/attempt/endpoint/{ep}?with_msg=true"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["msg"]["id"], mid);
    assert_eq!(b["data"][0]["msg"]["payload"], json!({"k": "v"}));
    let (_, b) = app.get(&format!("/api/v1/app/{id}/attempt/endpoint/{ep}")).await;
    assert!(b["data"][0].get("msg").is_none(), "{b}");
    let (_, b) = app
        .get(&format!("/api/v1/app/{id}/attempt/endpoint/{ep}?tag=t1"))
        .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    let (_, b) = app
        .get(&format!("/api/v1/app/{id}/attempt/endpoint/{ep}?tag=other"))
        .await;
    assert_eq!(b["data"], json!([]));
    let (s, old) = app.get(&format!("/api/v1/app/{id}/msg/{mid}/attempt")).await;
    assert_eq!(s, StatusCode::OK, "{old}");
    assert_eq!(old["data"][0]["msgId"], mid);
    let (s, per_ep) = app
        .get(&format!("/api/v1/app/{id}/msg/{mid}/endpoint/{ep}/attempt"))
        .await;
    assert_eq!(s, StatusCode::OK, "{per_ep}");
    assert_eq!(per_ep["data"][0]["endpointId"], ep);
    let (s, _) = app
        .get(&format!("/api/v1/app/{id}/msg/{mid}/endpoint/ep_nope/attempt"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn recover_and_replay_missing_are_stored_tasks_with_their_results() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b", "c.d"]).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    for i in 0..3 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    app.send(&id, json!({"eventType": "c.d", "payload": {}})).await;
    // an endpoint added later, for a.b only, never had these messages
    let late = Receiver::start().await;
    let ep = app
        .create_endpoint(&id, json!({"url": late.url("/"), "filterTypes": ["a.b"]}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let (s, task) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/replay-missing"),
            json!({"since": since.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{task}");
    assert_eq!(task["task"], "endpoint.replay");
    assert_eq!(task["status"], "finished");
    eventually(10, "the three a.b messages", || async {
        (late.count() == 3).then_some(())
    })
    .await;
    let (s, stored) = app
        .get(&format!(
            "/api/v1/background-task/{}",
            task["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["data"]["messagesQueued"], 3);
    // nothing is missing any more
    let (_, again) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/replay-missing"),
            json!({"since": since.to_rfc3339()}),
        )
        .await;
    let (_, again) = app
        .get(&format!(
            "/api/v1/background-task/{}",
            again["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(again["data"]["messagesQueued"], 0);

    let (s, rec) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/recover"),
            json!({"since": since.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{rec}");
    assert_eq!(rec["task"], "endpoint.recover");
    let (_, list) = app.get("/api/v1/background-task?task=endpoint.recover").await;
    let listed: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(listed, vec![rec["id"].clone()]);
    assert_eq!(list["data"][0]["data"]["deliveriesQueued"], 0);
    let (_, all) = app.get("/api/v1/background-task?status=finished&limit=10").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let (s, _) = app.get("/api/v1/background-task?status=sleeping").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // another organisation's task is not found
    let other = app.other_org_key().await;
    let path = format!("/api/v1/background-task/{}", rec["id"].as_str().unwrap());
    let (s, _) = app.call_as(&other, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_tokens_reach_one_application_and_end_on_logout() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (_, other) = app.post("/api/v1/app", json!({"name": "Other"})).await;
    let other = other["id"].as_str().unwrap();
    let (s, dash) = app
        .post(&format!("/api/v1/auth/dashboard-access/{id}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{dash}");
    assert!(dash["url"].as_str().unwrap().contains("/portal/appsk_"), "{dash}");
    let full = dash["token"].as_str().unwrap().to_string();
    assert!(full.starts_with("appsk_"));

    let (s, b) = app
        .call_as(&full, Method::GET, &format!("/api/v1/app/{id}/endpoint"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .call_as(
            &full,
            Method::POST,
            &format!("/api/v1/app/{id}/endpoint"),
            Some(json!({"url": "http://127.0.0.1:9/"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // by uid too
    let (s, _) = app
        .call_as(&full, Method::GET, "/api/v1/app/app/endpoint", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_as(&full, Method::GET, &format!("/api/v1/app/{other}/endpoint"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.call_as(&full, Method::GET, "/api/v1/app", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call_as(&full, Method::DELETE, &format!("/api/v1/app/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (_, ro) = app
        .post(
            &format!("/api/v1/auth/app-portal-access/{id}"),
            json!({"readOnly": true, "sessionId": "s1"}),
        )
        .await;
    let ro = ro["token"].as_str().unwrap().to_string();
    let (s, _) = app
        .call_as(&ro, Method::GET, &format!("/api/v1/app/{id}/msg"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_as(
            &ro,
            Method::POST,
            &format!("/api/v1/app/{id}/msg"),
            Some(json!({"eventType": "a.b", "payload": {}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // logout ends the token it is called with
    let (s, _) = app
        .call_as(&full, Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .call_as(&full, Method::GET, &format!("/api/v1/app/{id}/endpoint"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // expire-all ends only the named session's tokens
    let (_, keep) = app
        .post(
            &format!("/api/v1/auth/app-portal-access/{id}"),
            json!({"sessionId": "s2"}),
        )
        .await;
    let keep = keep["token"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &format!("/api/v1/auth/app/{id}/expire-all"),
            json!({"sessionIds": ["s1"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .call_as(&ro, Method::GET, &format!("/api/v1/app/{id}/msg"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .call_as(&keep, Method::GET, &format!("/api/v1/app/{id}/msg"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn app_tokens_see_flagged_event_types_only_with_the_flag() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (s, b) = app
        .post(
            "/api/v1/event-type",
            json!({"name": "beta.x", "description": "d", "featureFlags": ["beta"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["featureFlag"], "beta");
    let names = |b: &serde_json::Value| -> Vec<String> {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, plain) = app
        .post(&format!("/api/v1/auth/app-portal-access/{id}"), json!({}))
        .await;
    let (_, flagged) = app
        .post(
            &format!("/api/v1/auth/app-portal-access/{id}"),
            json!({"featureFlags": ["beta"]}),
        )
        .await;
    let (_, b) = app
        .call_as(
            plain["token"].as_str().unwrap(),
            Method::GET,
            "/api/v1/event-type",
            None,
        )
        .await;
    assert_eq!(names(&b), ["a.b"]);
    let (_, b) = app
        .call_as(
            flagged["token"].as_str().unwrap(),
            Method::GET,
            "/api/v1/event-type",
            None,
        )
        .await;
    assert_eq!(names(&b), ["a.b", "beta.x"]);
    let (_, b) = app.get("/api/v1/event-type").await;
    assert_eq!(names(&b), ["a.b", "beta.x"], "an API key sees everything");
}

#[tokio::test]
async fn the_applications_throttle_holds_across_its_endpoints() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (s, b) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}"),
            Some(json!({"throttleRate": 4})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["rateLimit"], 4);
    let (r1, r2) = (Receiver::start().await, Receiver::start().await);
    app.create_endpoint(&id, json!({"url": r1.url("/")})).await;
    app.create_endpoint(&id, json!({"url": r2.url("/")})).await;
    for i in 0..4 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    eventually(20, "eight deliveries", || async {
        (r1.count() + r2.count() == 8).then_some(())
    })
    .await;
    let mut at: Vec<_> = r1
        .received()
        .into_iter()
        .chain(r2.received())
        .map(|r| r.at)
        .collect();
    at.sort();
    let span = at[7] - at[0];
    // 4 per second for the whole application: eight sends need seven intervals of 250 ms,
    // though each endpoint alone is unthrottled
    assert!(
        span >= Duration::from_millis(1700),
        "eight deliveries in {span:?}"
    );
}

#[tokio::test]
async fn an_implicit_application_must_be_the_one_in_the_path() {
    let app = spawn_app().await;
    for path in ["/api/v1/app/wanted/msg", "/api/v1/auth/app-portal-access/wanted"] {
        let msg = json!({"eventType": "a.b", "payload": {}});
        let with = |application: serde_json::Value| {
            let mut body = if path.ends_with("/msg") {
                msg.clone()
            } else {
                json!({})
            };
            body["application"] = application;
            body
        };
        // a typo in the body must not create (and route to) some other application
        let (s, b) = app.post(path, with(json!({"name": "X", "uid": "typo"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        assert_eq!(b["detail"][0]["loc"], json!(["body", "application", "uid"]));
        assert_eq!(b["detail"][0]["type"], "application_uid_mismatch");
        let (s, b) = app.post(path, with(json!({"name": "X"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        assert_eq!(b["detail"][0]["type"], "application_uid_missing");
        for uid in ["typo", "wanted"] {
            let (s, _) = app.get(&format!("/api/v1/app/{uid}")).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}: nothing was created");
        }
    }
    let (s, b) = app
        .post(
            "/api/v1/app/wanted/msg",
            json!({"eventType": "a.b", "payload": {}, "application": {"name": "W", "uid": "wanted"}}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (s, got) = app.get("/api/v1/app/wanted").await;
    assert_eq!((s, got["name"].as_str()), (StatusCode::OK, Some("W")));
}

#[tokio::test]
async fn throttle_rate_wins_over_its_deprecated_name() {
    let app = spawn_app().await;
    let (s, a) = app
        .post(
            "/api/v1/app",
            json!({"name": "T", "throttleRate": 5, "rateLimit": 9}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!((&a["throttleRate"], &a["rateLimit"]), (&json!(5), &json!(5)));
    let id = a["id"].as_str().unwrap();
    let (_, a) = app
        .post("/api/v1/app", json!({"name": "Old SDK", "rateLimit": 7}))
        .await;
    assert_eq!(a["throttleRate"], 7, "the old name alone still sets it");
    let (s, a) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}"),
            Some(json!({"rateLimit": 3, "throttleRate": 4})),
        )
        .await;
    assert_eq!((s, &a["throttleRate"]), (StatusCode::OK, &json!(4)));
    let ep = app
        .create_endpoint(
            id,
            json!({"url": "http://127.0.0.1:9/", "throttleRate": 2, "rateLimit": 8}),
        )
        .await;
    assert_eq!(ep["throttleRate"], 2);
    let (s, ep) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{}", ep["id"].as_str().unwrap()),
            Some(json!({"rateLimit": 8, "throttleRate": 6})),
        )
        .await;
    assert_eq!((s, &ep["throttleRate"]), (StatusCode::OK, &json!(6)));
}

#[tokio::test]
async fn a_raw_payload_is_delivered_as_sent_and_other_transformations_are_refused() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let rx = Receiver::start().await;
    let ep = app.create_endpoint(&id, json!({"url": rx.url("/")})).await;
    let secret = app.secret(&id, ep["id"].as_str().unwrap()).await;
    let path = format!("/api/v1/app/{id}/msg");
    let raw = |params: serde_json::Value| json!({"eventType": "a.b", "payload": {}, "transformationsParams": params});
    let (s, b) = app
        .post(&path, raw(json!({"rawPayload": "{\"b\": 1,  \"a\": 2}"})))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(
        b["payload"],
        json!({"b": 1, "a": 2}),
        "a JSON object reads back as itself"
    );
    let (s, csv) = app
        .post(
            &path,
            raw(json!({"rawPayload": "id,amount\n1,7\n", "headers": {"Content-Type": "text/csv"}})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{csv}");
    assert_eq!(
        csv["payload"],
        json!({}),
        "not an object: {{}}, as the SDKs' models need"
    );
    eventually(10, "both deliveries", || async {
        (rx.count() == 2).then_some(())
    })
    .await;
    let mut got = rx.received();
    // by message, not by arrival order (two sends may overtake each other)
    got.sort_by_key(|g| g.msg_id() != b["id"].as_str().unwrap());
    assert_eq!(
        got[0].body, "{\"b\": 1,  \"a\": 2}",
        "byte for byte, spacing kept"
    );
    assert_eq!(got[0].header("content-type"), "application/json");
    assert_eq!(got[1].body, "id,amount\n1,7\n");
    assert_eq!(got[1].header("content-type"), "text/csv");
    assert_eq!(got[1].msg_id(), csv["id"]);
    let ts = got[1].header("webhook-timestamp").parse().unwrap();
    let sig = got[1].header("webhook-signature");
    assert!(
        domain::signing::verify(&secret, got[1].msg_id(), ts, got[1].body.as_bytes(), sig),
        "signed over the raw body"
    );

    for (params, payload, loc, says) in [
        (
            json!({"rawPayload": "x", "code": "y"}),
            json!({}),
            json!(["body", "transformationsParams", "code"]),
            "unknown field",
        ),
        (
            json!({"rawPayload": "x"}),
            json!({"a": 1}),
            json!(["body", "payload"]),
            "must be {}",
        ),
        (
            json!({"headers": {"x-custom": "1"}}),
            json!({}),
            json!(["body", "transformationsParams", "headers", "x-custom"]),
            "only content-type",
        ),
        (
            json!({"headers": {"content-type": "not a type"}}),
            json!({}),
            json!(["body", "transformationsParams", "headers", "content-type"]),
            "media type",
        ),
        (
            // a line break would make every send fail (an invalid header), not inject one
            json!({"headers": {"content-type": "text/plain;\n charset=utf-8"}}),
            json!({}),
            json!(["body", "transformationsParams", "headers", "content-type"]),
            "media type",
        ),
    ] {
        let (s, b) = app
            .post(
                &path,
                json!({"eventType": "a.b", "payload": payload, "transformationsParams": params}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{params}: {b}");
        assert_eq!(b["detail"][0]["loc"], loc, "{b}");
        assert!(b["detail"][0]["msg"].as_str().unwrap().contains(says), "{b}");
    }
    let (_, list) = app.get(&path).await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        2,
        "nothing refused was stored"
    );
}
