//! Payload filters: a CEL expression per endpoint decides, at ingest, whether the endpoint
//! gets a message; bad filters are refused with where they are wrong; a change made anywhere
//! reaches every process's cached filters; the portal tries a filter before it is saved.
use crate::helpers::*;
use crate::portal::{logged_in, portal_app, portal_call};
use crate::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn endpoint_with(app: &TestApp, app_id: &str, url: String, filter: Option<&str>) -> String {
    let mut body = json!({"url": url});
    if let Some(f) = filter {
        body["filter"] = json!(f);
    }
    let ep = app.create_endpoint(app_id, body).await;
    assert_eq!(ep["filter"].as_str(), filter, "{ep}");
    ep["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn each_endpoint_gets_only_the_messages_its_filter_passes() {
    let app = spawn_app().await;
    let id = app.setup_app(&["invoice.paid", "user.created"]).await;
    let (one, eu, all) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let ep_one = endpoint_with(&app, &id, one.url("/"), Some(r#"payload.customer.id == "cus_1""#)).await;
    let ep_eu = endpoint_with(
        &app,
        &id,
        eu.url("/"),
        Some("\"eu\" in channels && payload.amount >= 100 && eventType.startsWith('invoice.')"),
    )
    .await;
    let ep_all = endpoint_with(&app, &id, all.url("/"), None).await;

    let sends = [
        // (payload, channels, delivered to one, to eu)
        (
            json!({"customer": {"id": "cus_1"}, "amount": 5}),
            json!(["us"]),
            true,
            false,
        ),
        (
            json!({"customer": {"id": "cus_2"}, "amount": 500}),
            json!(["eu"]),
            false,
            true,
        ),
        (
            json!({"customer": {"id": "cus_1"}, "amount": 100}),
            json!(["eu"]),
            true,
            true,
        ),
        // no customer at all: the first filter cannot be evaluated, and does not pass
        (json!({"amount": 99}), json!(["eu"]), false, false),
    ];
    let mut ids = Vec::new();
    for (payload, channels, _, _) in &sends {
        let m = app
            .send(
                &id,
                json!({"eventType": "invoice.paid", "payload": payload, "channels": channels}),
            )
            .await;
        ids.push(m["id"].as_str().unwrap().to_string());
    }
    // a user.created with everything the eu filter wants but the event type
    let other = app
        .send(
            &id,
            json!({"eventType": "user.created", "payload": {"amount": 1000}, "channels": ["eu"]}),
        )
        .await;
    eventually(15, "every delivery", || async {
        (all.count() == 5 && one.count() == 2 && eu.count() == 2).then_some(())
    })
    .await;
    // the deliveries were decided at ingest: the ones a filter refused were never queued
    for (msg, (_, _, to_one, to_eu)) in ids.iter().zip(&sends) {
        assert_eq!(
            app.delivery_status(&id, msg, &ep_one).await.is_some(),
            *to_one,
            "{msg}"
        );
        assert_eq!(
            app.delivery_status(&id, msg, &ep_eu).await.is_some(),
            *to_eu,
            "{msg}"
        );
        assert!(app.delivery_status(&id, msg, &ep_all).await.is_some());
    }
    let other = other["id"].as_str().unwrap();
    assert_eq!(app.delivery_status(&id, other, &ep_eu).await, None);
    let got: Vec<String> = one.received().iter().map(|r| r.msg_id().to_string()).collect();
    assert!(got.contains(&ids[0]) && got.contains(&ids[2]), "{got:?}");

    // PATCH null removes the filter; the next message reaches the endpoint
    let (s, body) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{ep_one}"),
            Some(json!({"filter": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.get("filter").is_none(), "{body}");
    let m = app
        .send(
            &id,
            json!({"eventType": "invoice.paid", "payload": {"customer": {"id": "cus_9"}}}),
        )
        .await;
    let m = m["id"].as_str().unwrap();
    assert!(app.delivery_status(&id, m, &ep_one).await.is_some());
    // an edit is in the audit log by the field's name
    let (_, log) = app.get("/api/v1/audit-log?action=endpoint.updated").await;
    assert_eq!(log["data"][0]["details"]["fields"], json!(["filter"]), "{log}");
}

#[tokio::test]
async fn a_bad_filter_is_refused_with_where_it_is_wrong_and_nothing_changes() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let cases = [
        ("payload.amount >", "line 1, column"),
        ("payload.a == 1 &&\n  customer.id == 2", "'customer' is not known"),
        (
            "payload.a.all(x, payload.b.exists(y, x == y))",
            "may not be nested",
        ),
        ("   ", "empty"),
    ];
    for (filter, says) in cases {
        let (s, body) = app
            .post(
                &format!("/api/v1/app/{id}/endpoint"),
                json!({"url": "http://127.0.0.1:9/", "filter": filter}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{filter}: {body}");
        let text = body.to_string();
        assert!(text.contains(says) && text.contains("filter"), "{filter}: {text}");
    }
    // deeply nested parentheses are refused, not a crash
    let deep = format!("{}payload.a == 1{}", "(".repeat(990), ")".repeat(990));
    let (s, body) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "http://127.0.0.1:9/", "filter": deep}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let long = format!("payload.a == '{}'", "x".repeat(2_000));
    let (s, _) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint"),
            json!({"url": "http://127.0.0.1:9/", "filter": long}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = app.get(&format!("/api/v1/app/{id}/endpoint")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");

    // an edit to a bad filter keeps the good one
    let ep = endpoint_with(&app, &id, "http://127.0.0.1:9/".into(), Some("payload.a == 1")).await;
    let (s, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/app/{id}/endpoint/{ep}"),
            Some(json!({"filter": "payload.a =="})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, got) = app.get(&format!("/api/v1/app/{id}/endpoint/{ep}")).await;
    assert_eq!(got["filter"], "payload.a == 1");

    // operational webhook endpoints are filtered by event type only
    let (s, body) = app
        .post(
            "/api/v1/operational-webhook/endpoint",
            json!({"url": "http://127.0.0.1:9/", "filter": "true"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn a_filter_changed_behind_the_api_reaches_the_cached_filters_through_notify() {
    let app = spawn_app_with(|s| s.lookup_cache_ttl = std::time::Duration::from_secs(600)).await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = endpoint_with(&app, &id, "http://127.0.0.1:9/".into(), Some("payload.n > 1")).await;
    let send = |n: i64| {
        let (app, id) = (&app, &id);
        async move {
            let m = app
                .send(id, json!({"eventType": "a.b", "payload": {"n": n}}))
                .await;
            m["id"].as_str().unwrap().to_string()
        }
    };
    crate::lookups::listening(&app, 1).await;
    // the filter is in memory now
    let m = send(1).await;
    assert_eq!(app.delivery_status(&id, &m, &ep).await, None);
    let run = |sql: &'static str| {
        let (pool, ep) = (&app.pool, &ep);
        async move {
            sqlx::query(sql).bind(ep).execute(pool).await.unwrap();
        }
    };
    // a change that bypasses the trigger is not seen: the filter is served from memory
    run("ALTER TABLE endpoints DISABLE TRIGGER endpoints_filters_lookups").await;
    run("UPDATE endpoints SET filter = 'payload.n >= 1' WHERE id = $1").await;
    let m = send(1).await;
    assert_eq!(
        app.delivery_status(&id, &m, &ep).await,
        None,
        "the filter was not cached, so this test proves nothing"
    );
    // changed as psql or another process would: every process hears the trigger's NOTIFY
    run("ALTER TABLE endpoints ENABLE TRIGGER endpoints_filters_lookups").await;
    run("UPDATE endpoints SET filter = 'payload.n >= 1' WHERE id = $1").await;
    eventually(5, "the new filter to be used", || async {
        let m = send(1).await;
        app.delivery_status(&id, &m, &ep).await.map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn the_portal_saves_and_tries_filters() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let shop = portal_app(&app, &cookie, "Shop", "").await;
    let shop = shop.as_str();
    let form = [
        ("name", "invoice.paid"),
        ("description", "paid"),
        ("schema", ""),
        ("example", r#"{"customer": {"id": "cus_1"}, "amount": 250}"#),
    ];
    let (s, body) = portal_call(&app, &cookie, "add_event_type", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let add = |filter: &'static str| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let f = [
                ("app", shop),
                ("url", "http://127.0.0.1:9/hook"),
                ("description", ""),
                ("channels", ""),
                ("rate_limit", ""),
                ("filter", filter),
            ];
            portal_call(app, cookie, "add_endpoint", &f).await
        }
    };
    let (s, body) = add("payload.amount >").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("line 1, column") && body.contains("filter"),
        "{body}"
    );
    let (s, body) = add("payload.amount > 100").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ep: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ep["filter"], "payload.amount > 100");

    let try_it = |filter: &'static str, payload: &'static str| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let f = [
                ("app", shop),
                ("filter", filter),
                ("event_type", "invoice.paid"),
                ("payload", payload),
                ("channels", "eu"),
            ];
            portal_call(app, cookie, "try_filter", &f).await
        }
    };
    // on the catalogue's example
    let (s, body) = try_it("payload.amount > 100 && 'eu' in channels", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["passes"], true, "{r}");
    assert!(r["payload"].as_str().unwrap().contains("cus_1"), "{r}");
    let (_, body) = try_it("payload.customer.id == 'cus_2'", "").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["passes"],
        false,
        "{body}"
    );
    // on a pasted payload that lacks the field: does not pass, and says why
    let (_, body) = try_it("payload.customer.id == 'cus_1'", r#"{"amount": 1}"#).await;
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["passes"], false, "{r}");
    assert!(r["reason"].is_string(), "{r}");
    let (s, body) = try_it("payload.amount >", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = try_it("true", "{ not json").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not valid JSON"), "{body}");
}

#[tokio::test]
async fn replay_missing_sends_only_what_the_filter_passes() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    // sent before the endpoint existed
    for n in 0..7 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"n": n}}))
            .await;
    }
    let r = Receiver::start().await;
    let ep = endpoint_with(&app, &id, r.url("/"), Some("payload.n % 2 == 0")).await;
    let (s, task) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/replay-missing"),
            json!({"since": since}),
        )
        .await;
    assert!(s.is_success(), "{s}: {task}");
    let (_, task) = app
        .get(&format!(
            "/api/v1/background-task/{}",
            task["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(task["data"]["messagesQueued"], 4, "{task}");
    eventually(10, "the replayed messages", || async {
        (r.count() == 4).then_some(())
    })
    .await;
    let mut got: Vec<i64> = r
        .received()
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.body).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    got.sort();
    assert_eq!(got, [0, 2, 4, 6]);
}

#[tokio::test]
async fn a_consumer_link_tries_filters_only_on_the_event_types_it_may_see() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (s, b) = app
        .post(
            "/api/v1/event-type",
            json!({"name": "beta.x", "description": "d", "featureFlags": ["beta"],
                   "schemas": {"1": {"type": "object", "example": {"secret_plan": "v2"}}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let session = |flags: Value| {
        let (app, id) = (&app, &id);
        async move {
            let (_, link) = app
                .post(
                    &format!("/api/v1/auth/app-portal-access/{id}"),
                    json!({"featureFlags": flags}),
                )
                .await;
            let (_, _, cookie) = crate::portal_pages::open_link(link["url"].as_str().unwrap(), None).await;
            cookie.expect("a consumer session")
        }
    };
    let form = [
        ("app", id.as_str()),
        ("filter", "has(payload.secret_plan)"),
        ("event_type", "beta.x"),
        ("payload", ""),
        ("channels", ""),
    ];
    // without the flag the event type does not exist for this link: no example leaks
    let (s, body) = portal_call(&app, &session(json!([])).await, "try_filter", &form).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains("v2"), "{body}");
    let (s, body) = portal_call(&app, &session(json!(["beta"])).await, "try_filter", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["passes"],
        true,
        "{body}"
    );
}
