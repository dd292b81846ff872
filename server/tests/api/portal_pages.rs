//! The portal's endpoint page, message log and consumer portal at the HTTP level: real
//! server, real PostgreSQL, real receivers.
use crate::helpers::*;
use crate::portal::{logged_in, no_redirects, portal_call};
use crate::receiver::{Receiver, Reply};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

/// A developer signed up through the portal, and an API key of their organisation.
async fn developer(app: &TestApp, email: &str, org: &str) -> (String, String) {
    let cookie = logged_in(app, email, org).await;
    let (s, body) = portal_call(app, &cookie, "create_api_key", &[("name", "backend")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (cookie, serde_json::from_str(&body).unwrap())
}

/// Ada, a developer of "Analytical" with an API key, the event types `types`, and an
/// application named `name`: (session cookie, API key, application id).
async fn developer_with_app(app: &TestApp, name: &str, types: &[&str]) -> (String, String, String) {
    let (cookie, key) = developer(app, "ada@example.com", "Analytical").await;
    for t in types {
        post(
            app,
            &key,
            "/api/v1/event-type",
            json!({"name": t, "description": "t"}),
        )
        .await;
    }
    let created = post(app, &key, "/api/v1/app", json!({"name": name})).await;
    let id = created["id"].as_str().unwrap().to_string();
    (cookie, key, id)
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    api(app, key, reqwest::Method::GET, path, None).await
}

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    api(app, key, reqwest::Method::POST, path, Some(body)).await
}

async fn api(app: &TestApp, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let (s, b) = app.call_as(key, method, path, body).await;
    assert!(s.is_success(), "{path}: {s} {b}");
    b
}

/// The delivery status (0 success, 1 pending, 2 fail) of `msg` to `ep`, read with `key`.
pub(crate) async fn delivery_status(app: &TestApp, key: &str, a: &str, msg: &str, ep: &str) -> Option<i64> {
    let (_, b) = app
        .call_as(
            key,
            reqwest::Method::GET,
            &format!("/api/v1/app/{a}/msg/{msg}/endpoint"),
            None,
        )
        .await;
    b["data"]
        .as_array()?
        .iter()
        .find(|d| d["id"] == ep)
        .and_then(|d| d["status"].as_i64())
}

/// Saves the endpoint edit form: `url` and `fields` over an otherwise empty form.
async fn save_endpoint_form(
    app: &TestApp,
    cookie: &str,
    a: &str,
    ep: &str,
    url: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = vec![("app", a), ("endpoint", ep), ("url", url)];
    for blank in ["description", "channels", "rate_limit", "headers"] {
        if !fields.iter().any(|(k, _)| *k == blank) {
            form.push((blank, ""));
        }
    }
    form.extend_from_slice(fields);
    portal_call(app, cookie, "update_endpoint", &form).await
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Opens a consumer-portal link like a browser: returns the session cookie and where it led.
pub(crate) async fn open_link(
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, Option<String>) {
    let mut req = no_redirects().get(url);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let r = req.send().await.unwrap();
    let location = r
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookie = r
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    (r.status(), location, cookie)
}

#[tokio::test]
async fn a_consumer_portal_link_opens_one_application_and_nothing_else() {
    let app = spawn_app().await;
    let (_dev, key, mine) = developer_with_app(&app, "Customer One", &["a.b"]).await;
    let other = post(&app, &key, "/api/v1/app", json!({"name": "Customer Two"})).await;
    let (mine, other) = (mine.as_str(), other["id"].as_str().unwrap());
    let link = post(
        &app,
        &key,
        &format!("/api/v1/auth/app-portal-access/{mine}"),
        json!({}),
    )
    .await;
    let url = link["url"].as_str().unwrap();

    let (status, location, cookie) = open_link(url, None).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(location.as_deref(), Some(format!("/portal/app/{mine}").as_str()));
    let consumer = cookie.expect("a session");
    let page = app
        .client
        .get(format!("{}/portal/app/{mine}", app.base))
        .header(header::COOKIE, &consumer)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Customer One"), "{html}");
    assert!(
        !html.contains("Open consumer portal"),
        "no developer tools in the consumer portal"
    );

    // manage endpoints of its own application
    let r = Receiver::start().await;
    let (s, body) = portal_call(
        &app,
        &consumer,
        "add_endpoint",
        &[
            ("app", mine),
            ("url", &r.url("/")),
            ("description", "mine"),
            ("channels", ""),
            ("rate_limit", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ep = json_of(&body)["id"].as_str().unwrap().to_string();
    let (s, body) = portal_call(
        &app,
        &consumer,
        "reveal_secret",
        &[("app", mine), ("endpoint", &ep)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(json_of(&body)["current"].as_str().unwrap().starts_with("whsec_"));

    // another application of the same organisation answers 404, developer tools 401
    for (f, form) in [
        ("app_overview", vec![("app", other)]),
        ("message_log", vec![("app", other)]),
        (
            "endpoint_page",
            vec![("app", other), ("endpoint", ep.as_str()), ("range", "hour")],
        ),
    ] {
        let (s, body) = portal_call(&app, &consumer, f, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}: {body}");
    }
    let (s, _) = portal_call(
        &app,
        &consumer,
        "reveal_secret",
        &[("app", other), ("endpoint", &ep)],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for f in ["list_apps", "list_api_keys"] {
        let (s, body) = portal_call(&app, &consumer, f, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{f}: {body}");
    }
    let (s, _) = portal_call(&app, &consumer, "create_api_key", &[("name", "sneaky")]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // when the token expires, the session it opened ends with it
    sqlx::query("UPDATE portal_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, body) = portal_call(&app, &consumer, "app_overview", &[("app", mine)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("LinkExpired"), "{body}");
    let (status, _, _) = open_link(url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = open_link(&format!("{}/portal/appsk_forged", app.base), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_read_only_portal_link_shows_everything_and_changes_nothing() {
    let app = spawn_app().await;
    let (_dev, key, mine) = developer_with_app(&app, "Watcher", &["a.b"]).await;
    let mine = mine.as_str();
    let r = Receiver::start().await;
    let ep = post(
        &app,
        &key,
        &format!("/api/v1/app/{mine}/endpoint"),
        json!({"url": r.url("/")}),
    )
    .await;
    let ep = ep["id"].as_str().unwrap();
    let msg = post(
        &app,
        &key,
        &format!("/api/v1/app/{mine}/msg"),
        json!({"eventType": "a.b", "payload": {}}),
    )
    .await;
    let msg = msg["id"].as_str().unwrap();
    let link = post(
        &app,
        &key,
        &format!("/api/v1/auth/app-portal-access/{mine}"),
        json!({"readOnly": true}),
    )
    .await;
    let (_, _, cookie) = open_link(link["url"].as_str().unwrap(), None).await;
    let consumer = cookie.expect("a session");

    // it can look: pages, the log, a timeline and the secret
    for (f, form) in [
        ("app_overview", vec![("app", mine)]),
        ("message_log", vec![("app", mine)]),
        ("message_timeline", vec![("app", mine), ("msg", msg)]),
        ("reveal_secret", vec![("app", mine), ("endpoint", ep)]),
    ] {
        let (s, body) = portal_call(&app, &consumer, f, &form).await;
        assert_eq!(s, StatusCode::OK, "{f}: {body}");
    }
    let page = app
        .client
        .get(format!("{}/portal/app/{mine}/endpoint/{ep}", app.base))
        .header(header::COOKIE, &consumer)
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("This link is read-only"), "{html}");
    assert!(
        !html.contains("Save changes") && !html.contains("Delete endpoint"),
        "{html}"
    );

    // and changes nothing: every write answers 403 and leaves the data as it was
    let writes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "add_endpoint",
            vec![
                ("app", mine),
                ("url", "https://example.com/x"),
                ("description", ""),
                ("channels", ""),
                ("rate_limit", ""),
            ],
        ),
        ("rotate_secret", vec![("app", mine), ("endpoint", ep)]),
        (
            "set_endpoint_enabled",
            vec![("app", mine), ("endpoint", ep), ("enabled", "false")],
        ),
        (
            "delete_endpoint",
            vec![("app", mine), ("endpoint", ep), ("confirm", "yes")],
        ),
        (
            "recover_failed",
            vec![("app", mine), ("endpoint", ep), ("since", "2026-01-01T00:00")],
        ),
        ("resend", vec![("app", mine), ("msg", msg), ("endpoint", ep)]),
        (
            "send_test_event",
            vec![
                ("app", mine),
                ("event_type", "a.b"),
                ("payload", "{}"),
                ("endpoint", ep),
            ],
        ),
        (
            "update_endpoint",
            vec![
                ("app", mine),
                ("endpoint", ep),
                ("url", "https://example.com/y"),
                ("description", ""),
                ("channels", ""),
                ("rate_limit", ""),
                ("headers", ""),
            ],
        ),
    ];
    for (f, form) in writes {
        let (s, body) = portal_call(&app, &consumer, f, &form).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{f}: {body}");
        assert!(body.contains("ReadOnly"), "{f}: {body}");
    }
    let (_, e) = app
        .call_as(
            &key,
            reqwest::Method::GET,
            &format!("/api/v1/app/{mine}/endpoint/{ep}"),
            None,
        )
        .await;
    assert_eq!(e["url"], r.url("/"));
    assert_eq!(e["disabled"], false);
    let (_, list) = app
        .call_as(
            &key,
            reqwest::Method::GET,
            &format!("/api/v1/app/{mine}/endpoint"),
            None,
        )
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_developer_of_another_organisation_is_asked_to_log_out_before_opening_a_link() {
    let app = spawn_app().await;
    let (_ada, key) = developer(&app, "ada@example.com", "Analytical").await;
    let mine = post(&app, &key, "/api/v1/app", json!({"name": "Shop"})).await;
    let mine = mine["id"].as_str().unwrap();
    let link = post(
        &app,
        &key,
        &format!("/api/v1/auth/app-portal-access/{mine}"),
        json!({}),
    )
    .await;
    // Eve, of another organisation, opens Ada's customer's link in her browser: refused, and
    // she stays logged in (a link anyone can send must not log people out)
    let eve = logged_in(&app, "eve@example.com", "Other org").await;
    let r = no_redirects()
        .get(link["url"].as_str().unwrap())
        .header(header::COOKIE, &eve)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let page = r.text().await.unwrap();
    assert!(page.contains("Log out first"), "{page}");
    assert!(page.contains("Log out and open the link"), "{page}");
    let (s, _) = portal_call(&app, &eve, "list_apps", &[]).await;
    assert_eq!(s, StatusCode::OK, "still Eve's developer session");
    let (s, _) = portal_call(&app, &eve, "app_overview", &[("app", mine)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // the page's button logs her out and opens the link, but only from the page itself
    let switch = |origin: String| {
        no_redirects()
            .post(link["url"].as_str().unwrap())
            .header(header::COOKIE, &eve)
            .header(header::ORIGIN, origin)
            .send()
    };
    let r = switch("https://evil.example".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-site: refused");
    let r = switch(app.base.clone()).await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        r.headers()[header::LOCATION].to_str().unwrap(),
        format!("/portal/app/{mine}")
    );
    let switched = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (s, body) = portal_call(&app, &switched, "app_overview", &[("app", mine)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = portal_call(&app, &switched, "list_apps", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "Eve is logged out");
    // in a fresh browser the same link works
    let (status, _, cookie) = open_link(link["url"].as_str().unwrap(), None).await;
    assert!(status.is_redirection());
    let consumer = cookie.unwrap();
    let (s, body) = portal_call(&app, &consumer, "app_overview", &[("app", mine)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // a consumer tests one endpoint at a time
    let (s, body) = portal_call(
        &app,
        &consumer,
        "send_test_event",
        &[
            ("app", mine),
            ("event_type", "a.b"),
            ("payload", "{}"),
            ("endpoint", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Pick the endpoint"), "{body}");

    // Ada herself keeps her developer session when she previews her customer's portal
    let (ada_cookie, _) = developer(&app, "ada2@example.com", "Babbage").await;
    let (_, body) = portal_call(
        &app,
        &ada_cookie,
        "create_app",
        &[("name", "Preview"), ("uid", "")],
    )
    .await;
    let preview = json_of(&body)["id"].as_str().unwrap().to_string();
    let r = no_redirects()
        .post(format!("{}/_fn/open_consumer_portal", app.base))
        .header(header::ORIGIN, app.base.clone())
        .header(header::COOKIE, &ada_cookie)
        .header(header::ACCEPT, "text/html")
        .form(&[("app", preview.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{}/portal/appsk_", app.base)), "{to}");
    let (_, location, cookie) = open_link(&to, Some(&ada_cookie)).await;
    assert_eq!(location.unwrap(), format!("/portal/app/{preview}"));
    let (s, _) = portal_call(&app, &cookie.unwrap(), "list_apps", &[]).await;
    assert_eq!(s, StatusCode::OK, "still logged in as a developer");
}

#[tokio::test]
async fn the_endpoint_form_edits_headers_and_settings_and_refuses_bad_input_whole() {
    let app = spawn_app().await;
    let (dev, key, a) = developer_with_app(&app, "Shop", &["a.b", "c.d"]).await;
    let a = a.as_str();
    let r = Receiver::start().await;
    let (s, body) = portal_call(
        &app,
        &dev,
        "add_endpoint",
        &[
            ("app", a),
            ("url", &r.url("/one")),
            ("description", "first"),
            ("channels", ""),
            ("rate_limit", ""),
            ("headers", "X-Team: billing\nAuthorization: Bearer s3cret"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ep = json_of(&body)["id"].as_str().unwrap().to_string();

    let (s, body) = portal_call(
        &app,
        &dev,
        "endpoint_page",
        &[("app", a), ("endpoint", &ep), ("range", "day")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let page = json_of(&body);
    assert_eq!(page["headers"], json!([["X-Team", "billing"]]));
    assert_eq!(page["sensitive_headers"], json!(["Authorization"]));
    assert!(!body.contains("s3cret"), "sensitive values never reach the page");
    assert_eq!(page["chart"].as_array().unwrap().len(), 24);
    assert_eq!(page["health"]["breaker"], "Closed");

    // a bad header line changes nothing, not even the URL
    let (s, body) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        &r.url("/two"),
        &[("description", "x"), ("headers", "no colon")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Line 1"), "{body}");
    let (s, body) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        &r.url("/two"),
        &[("description", "x"), ("headers", "Host: evil")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let got = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}")).await;
    assert_eq!(got["url"], r.url("/one"));
    // nor does a bad URL with good headers
    let (s, _) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        "not a url",
        &[
            ("description", "x"),
            ("headers", "X-Other: 1"),
            ("shown_headers[0]", "X-Team"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let headers = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}/headers")).await;
    assert_eq!(headers["headers"], json!({"X-Team": "billing"}), "unchanged");
    // a header added through the API after the form was loaded survives the form's save
    api(
        &app,
        &key,
        reqwest::Method::PATCH,
        &format!("/api/v1/app/{a}/endpoint/{ep}/headers"),
        Some(json!({"headers": {"X-Added-Later": "yes"}})),
    )
    .await;

    // a good one: new URL, one event type, a rate limit, X-Team replaced, Authorization kept
    let (s, body) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        &r.url("/two"),
        &[
            ("description", "second"),
            ("event_types[0]", "c.d"),
            ("channels", "eu, us"),
            ("rate_limit", "7"),
            ("headers", "X-Region: eu"),
            ("shown_headers[0]", "X-Team"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}")).await;
    assert_eq!(got["url"], r.url("/two"));
    assert_eq!(got["filterTypes"], json!(["c.d"]));
    assert_eq!(got["channels"], json!(["eu", "us"]));
    assert_eq!(got["throttleRate"], 7);
    let headers = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}/headers")).await;
    assert_eq!(
        headers["headers"],
        json!({"X-Region": "eu", "X-Added-Later": "yes"})
    );
    assert_eq!(headers["sensitive"], json!(["Authorization"]));
    // deliveries carry them
    post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/msg"),
        json!({"eventType": "c.d", "payload": {}, "channels": ["eu"]}),
    )
    .await;
    eventually(10, "delivered", || async { (r.count() == 1).then_some(()) }).await;
    let got = &r.received()[0];
    assert_eq!(got.header("x-region"), "eu");
    assert_eq!(got.header("authorization"), "Bearer s3cret");

    // ticking a hidden header removes it
    let (s, _) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        &r.url("/two"),
        &[
            ("description", "second"),
            ("shown_headers[0]", "X-Region"),
            ("shown_headers[1]", "X-Added-Later"),
            ("remove_headers[0]", "Authorization"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let headers = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}/headers")).await;
    assert_eq!(headers, json!({"headers": {}, "sensitive": []}));
    // a hidden header ticked for removal but typed again is replaced, not removed
    api(
        &app,
        &key,
        reqwest::Method::PATCH,
        &format!("/api/v1/app/{a}/endpoint/{ep}/headers"),
        Some(json!({"headers": {"Authorization": "Bearer old"}})),
    )
    .await;
    let (s, _) = save_endpoint_form(
        &app,
        &dev,
        a,
        &ep,
        &r.url("/two"),
        &[
            ("description", "second"),
            ("headers", "Authorization: Bearer new"),
            ("remove_headers[0]", "Authorization"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stored: serde_json::Value = sqlx::query_scalar("SELECT headers FROM endpoints WHERE id = $1")
        .bind(&ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, json!({"Authorization": "Bearer new"}));

    // disable and enable
    let (s, _) = portal_call(
        &app,
        &dev,
        "set_endpoint_enabled",
        &[("app", a), ("endpoint", &ep), ("enabled", "false")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let got = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}")).await;
    assert_eq!(got["disabled"], true);
    portal_call(
        &app,
        &dev,
        "set_endpoint_enabled",
        &[("app", a), ("endpoint", &ep), ("enabled", "true")],
    )
    .await;
    let got = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}")).await;
    assert_eq!(got["disabled"], false);

    // another organisation cannot see or delete it: the pages themselves answer 404 too
    let eve = logged_in(&app, "eve@example.com", "Other org").await;
    let msg = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/msg"),
        json!({"eventType": "c.d", "payload": {}}),
    )
    .await;
    let msg = msg["id"].as_str().unwrap();
    for path in [
        format!("/apps/{a}"),
        format!("/apps/{a}/endpoint/{ep}"),
        format!("/apps/{a}/msg/{msg}"),
        format!("/apps/{a}/messages"),
    ] {
        let page = no_redirects()
            .get(format!("{}{path}", app.base))
            .header(header::COOKIE, &eve)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains("could not be found"), "{path}: {html}");
        assert!(!html.contains(&r.url("/two")), "{path} shows nothing of it");
    }
    let (s, _) = portal_call(
        &app,
        &eve,
        "endpoint_page",
        &[("app", a), ("endpoint", &ep), ("range", "hour")],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = portal_call(
        &app,
        &eve,
        "delete_endpoint",
        &[("app", a), ("endpoint", &ep), ("confirm", "yes")],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // deleting needs the confirmation
    let (s, body) = portal_call(&app, &dev, "delete_endpoint", &[("app", a), ("endpoint", &ep)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Tick the box"), "{body}");
    let (s, _) = portal_call(
        &app,
        &dev,
        "delete_endpoint",
        &[("app", a), ("endpoint", &ep), ("confirm", "yes")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_as(
            &key,
            reqwest::Method::GET,
            &format!("/api/v1/app/{a}/endpoint/{ep}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn production_mode_refuses_plain_http_endpoints_in_the_form() {
    let app = spawn_app_with(|s| s.production = true).await;
    let (dev, key) = developer(&app, "ada@example.com", "Analytical").await;
    let a = post(&app, &key, "/api/v1/app", json!({"name": "Shop"})).await;
    let (s, body) = portal_call(
        &app,
        &dev,
        "add_endpoint",
        &[
            ("app", a["id"].as_str().unwrap()),
            ("url", "http://example.com/hook"),
            ("description", ""),
            ("channels", ""),
            ("rate_limit", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("https"), "{body}");
}

#[tokio::test]
async fn recover_failed_since_requeues_and_reports_progress_and_charts_count_attempts() {
    let app = spawn_app().await;
    let (dev, key, a) = developer_with_app(&app, "Shop", &["a.b"]).await;
    let a = a.as_str();
    let r = Receiver::start().await;
    r.set_default(Reply::status(500));
    let ep = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": r.url("/")}),
    )
    .await;
    let ep = ep["id"].as_str().unwrap();
    let since = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let mut msgs = vec![];
    for n in 0..3 {
        let m = post(
            &app,
            &key,
            &format!("/api/v1/app/{a}/msg"),
            json!({"eventType": "a.b", "payload": {"n": n}}),
        )
        .await;
        msgs.push(m["id"].as_str().unwrap().to_string());
    }
    for m in &msgs {
        eventually(10, "dead letter", || async {
            (delivery_status(&app, &key, a, m, ep).await == Some(2)).then_some(())
        })
        .await;
    }
    r.set_default(Reply::status(200));

    let (s, body) = portal_call(
        &app,
        &dev,
        "recover_failed",
        &[("app", a), ("endpoint", ep), ("since", "not a time")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Pick the date and time"), "{body}");
    let (s, body) = portal_call(
        &app,
        &dev,
        "recover_failed",
        &[("app", a), ("endpoint", ep), ("since", &since)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rec = json_of(&body);
    assert_eq!(rec["queued"], 3);
    let since_rfc = rec["since"].as_str().unwrap().to_string();
    let at_rfc = rec["at"].as_str().unwrap().to_string();
    let done = eventually(10, "recovered", || async {
        let (_, body) = portal_call(
            &app,
            &dev,
            "recovery_progress",
            &[
                ("app", a),
                ("endpoint", ep),
                ("since", &since_rfc),
                ("until", &at_rfc),
            ],
        )
        .await;
        let p = json_of(&body);
        (p["success"] == 3).then_some(p)
    })
    .await;
    assert_eq!(
        (done["pending"].as_i64(), done["fail"].as_i64()),
        (Some(0), Some(0))
    );

    // the hour chart: 3 × 4 failed attempts and 3 successes, all in the last buckets
    let (_, body) = portal_call(
        &app,
        &dev,
        "endpoint_page",
        &[("app", a), ("endpoint", ep), ("range", "hour")],
    )
    .await;
    let page = json_of(&body);
    let buckets = page["chart"].as_array().unwrap();
    assert_eq!(buckets.len(), 12);
    let sum = |k: &str| buckets.iter().map(|b| b[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("attempts"), 15);
    assert_eq!(sum("succeeded"), 3);
    assert!(buckets.iter().any(|b| b["p95_ms"].as_f64().is_some()));
    assert_eq!(page["attempts"].as_array().unwrap().len(), 15);
    assert_eq!(
        page["attempts"][0]["attempt"]["status"], 0,
        "newest first: a success"
    );
}

#[tokio::test]
async fn the_message_log_filters_searches_and_pages() {
    let app = spawn_app().await;
    let (dev, key) = developer(&app, "ada@example.com", "Analytical").await;
    for name in ["order.paid", "order.refunded"] {
        post(
            &app,
            &key,
            "/api/v1/event-type",
            json!({"name": name, "description": "t"}),
        )
        .await;
    }
    let a = post(&app, &key, "/api/v1/app", json!({"name": "Shop"})).await;
    let a = a["id"].as_str().unwrap();
    let ok = Receiver::start().await;
    let bad = Receiver::start().await;
    bad.set_default(Reply::status(500));
    post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": ok.url("/"), "filterTypes": ["order.paid"]}),
    )
    .await;
    post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": bad.url("/"), "filterTypes": ["order.refunded"]}),
    )
    .await;
    let mut paid = vec![];
    for n in 0..30 {
        let m = post(
            &app,
            &key,
            &format!("/api/v1/app/{a}/msg"),
            json!({"eventType": "order.paid", "eventId": format!("evt-{n}"), "payload": {"n": n}}),
        )
        .await;
        paid.push(m["id"].as_str().unwrap().to_string());
    }
    let refund = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/msg"),
        json!({"eventType": "order.refunded", "payload": {}}),
    )
    .await;
    let refund = refund["id"].as_str().unwrap().to_string();
    eventually(15, "all settled", || async {
        let (_, b) = portal_call(
            &app,
            &dev,
            "message_log",
            &[("app", a), ("query[status]", "pending")],
        )
        .await;
        json_of(&b)["messages"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;

    let log = |form: Vec<(&'static str, String)>| {
        let dev = dev.clone();
        let app = &app;
        async move {
            let mut f: Vec<(&str, &str)> = vec![("app", a)];
            f.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
            let (s, b) = portal_call(app, &dev, "message_log", &f).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            json_of(&b)
        }
    };
    let ids = |p: &Value| -> Vec<String> {
        p["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    // newest first, 25 a page, then the rest; back again
    let first = log(vec![]).await;
    assert_eq!(ids(&first).len(), 25);
    assert_eq!(ids(&first)[0], refund);
    assert!(first["newer"].is_null());
    let older = first["older"].as_str().unwrap().to_string();
    let second = log(vec![("query[iterator]", older)]).await;
    assert_eq!(ids(&second).len(), 6);
    assert!(second["older"].is_null());
    let back = log(vec![(
        "query[iterator]",
        second["newer"].as_str().unwrap().to_string(),
    )])
    .await;
    assert_eq!(ids(&back), ids(&first));
    assert!(back["newer"].is_null(), "the first page again: nothing newer");
    // by outcome and event type
    let failed = log(vec![("query[status]", "failed".into())]).await;
    assert_eq!(ids(&failed), vec![refund.clone()]);
    assert_eq!(failed["messages"][0]["failed"], 1);
    let succeeded = log(vec![("query[status]", "succeeded".into())]).await;
    assert_eq!(ids(&succeeded).len(), 25);
    assert!(!ids(&succeeded).contains(&refund));
    let typed = log(vec![("query[event_type]", "order.refunded".into())]).await;
    assert_eq!(ids(&typed), vec![refund.clone()]);
    // by id or eventId
    assert_eq!(
        ids(&log(vec![("query[q]", "evt-7".into())]).await),
        vec![paid[7].clone()]
    );
    assert_eq!(
        ids(&log(vec![("query[q]", paid[3].clone())]).await),
        vec![paid[3].clone()]
    );
    assert!(ids(&log(vec![("query[q]", "nope".into())]).await).is_empty());
    // by time: nothing after a minute from now
    let later = (chrono::Utc::now() + chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert!(ids(&log(vec![("query[after]", later.clone())]).await).is_empty());
    assert_eq!(ids(&log(vec![("query[before]", later)]).await).len(), 25);
    let (s, body) = portal_call(&app, &dev, "message_log", &[("app", a), ("query[after]", "soon")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // a form missing what a function needs is the caller's mistake: 400, not 500
    let (s, body) = portal_call(&app, &dev, "endpoint_page", &[("app", a)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn event_types_are_edited_in_place_and_a_test_event_can_go_to_one_endpoint() {
    let app = spawn_app().await;
    let (dev, key) = developer(&app, "ada@example.com", "Analytical").await;
    let form = [
        ("name", "invoice.paid"),
        ("description", "paid"),
        ("schema", ""),
        ("example", ""),
    ];
    let (s, body) = portal_call(&app, &dev, "add_event_type", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = portal_call(
        &app,
        &dev,
        "update_event_type",
        &[
            ("name", "invoice.paid"),
            ("description", "An invoice was paid"),
            ("schema", r#"{"type": "object", "required": ["id"]}"#),
            ("example", "{ nope"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("not valid JSON"), "{body}");
    let (s, body) = portal_call(
        &app,
        &dev,
        "update_event_type",
        &[
            ("name", "invoice.paid"),
            ("description", "An invoice was paid"),
            ("schema", r#"{"type": "object", "required": ["id"]}"#),
            ("example", r#"{"id": "inv_9"}"#),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = get(&app, &key, "/api/v1/event-type/invoice.paid").await;
    assert_eq!(got["description"], "An invoice was paid");
    assert_eq!(
        got["schemas"],
        json!({"1": {"type": "object", "required": ["id"], "examples": [{"id": "inv_9"}]}})
    );
    // another organisation has no such event type
    let eve = logged_in(&app, "eve@example.com", "Other org").await;
    let (s, _) = portal_call(
        &app,
        &eve,
        "update_event_type",
        &[
            ("name", "invoice.paid"),
            ("description", "mine now"),
            ("schema", ""),
            ("example", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // a test event to just one of two endpoints
    let a = post(&app, &key, "/api/v1/app", json!({"name": "Shop"})).await;
    let a = a["id"].as_str().unwrap();
    let (one, two) = (Receiver::start().await, Receiver::start().await);
    let ep1 = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": one.url("/")}),
    )
    .await;
    post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": two.url("/")}),
    )
    .await;
    let (s, body) = portal_call(
        &app,
        &dev,
        "send_test_event",
        &[
            ("app", a),
            ("event_type", "invoice.paid"),
            ("payload", r#"{"id": "inv_1"}"#),
            ("endpoint", ep1["id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    eventually(10, "delivered to the one", || async {
        (one.count() == 1).then_some(())
    })
    .await;
    let (s, _) = portal_call(
        &app,
        &dev,
        "send_test_event",
        &[
            ("app", a),
            ("event_type", "invoice.paid"),
            ("payload", r#"{"id": "inv_2"}"#),
            ("endpoint", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    eventually(10, "delivered to both", || async {
        (one.count() == 2 && two.count() == 1).then_some(())
    })
    .await;
    assert_eq!(two.received()[0].body, r#"{"id": "inv_2"}"#);
}

#[tokio::test]
async fn recovery_is_refused_on_a_disabled_endpoint_and_editing_keeps_other_schema_versions() {
    let app = spawn_app().await;
    let (dev, key) = developer(&app, "ada@example.com", "Analytical").await;
    let two_versions = json!({"1": {"type": "object"}, "2": {"type": "object", "required": ["v2"]}});
    post(
        &app,
        &key,
        "/api/v1/event-type",
        json!({"name": "a.b", "description": "t", "schemas": two_versions}),
    )
    .await;
    let (s, body) = portal_call(
        &app,
        &dev,
        "update_event_type",
        &[
            ("name", "a.b"),
            ("description", "t"),
            ("schema", ""),
            ("example", r#"{"x": 1}"#),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = get(&app, &key, "/api/v1/event-type/a.b").await;
    assert_eq!(got["schemas"]["2"], two_versions["2"], "version 2 untouched");
    assert_eq!(got["schemas"]["1"]["examples"], json!([{"x": 1}]));

    let a = post(&app, &key, "/api/v1/app", json!({"name": "Shop"})).await;
    let a = a["id"].as_str().unwrap();
    let ep = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": "http://127.0.0.1:9/", "disabled": true}),
    )
    .await;
    let (s, body) = portal_call(
        &app,
        &dev,
        "recover_failed",
        &[
            ("app", a),
            ("endpoint", ep["id"].as_str().unwrap()),
            ("since", "2026-01-01T00:00"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("enable it first"), "{body}");
}

#[tokio::test]
async fn an_archived_event_type_stays_subscribed_without_blocking_other_edits() {
    let app = spawn_app().await;
    let (dev, key, a) = developer_with_app(&app, "Shop", &["a.b", "c.d"]).await;
    let a = a.as_str();
    let ep = post(
        &app,
        &key,
        &format!("/api/v1/app/{a}/endpoint"),
        json!({"url": "http://127.0.0.1:9/", "filterTypes": ["a.b", "c.d"]}),
    )
    .await;
    let ep = ep["id"].as_str().unwrap();
    let (s, _) = portal_call(&app, &dev, "archive_event_type", &[("name", "a.b")]).await;
    assert_eq!(s, StatusCode::OK);
    // the form still offers (and ticks) the archived type, and saving it keeps working
    let (_, body) = portal_call(
        &app,
        &dev,
        "endpoint_page",
        &[("app", a), ("endpoint", ep), ("range", "hour")],
    )
    .await;
    assert!(json_of(&body)["event_types"]
        .as_array()
        .unwrap()
        .contains(&json!("a.b")));
    let (s, body) = save_endpoint_form(
        &app,
        &dev,
        a,
        ep,
        "http://127.0.0.1:10/",
        &[("event_types[0]", "a.b"), ("event_types[1]", "c.d")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = get(&app, &key, &format!("/api/v1/app/{a}/endpoint/{ep}")).await;
    assert_eq!(got["filterTypes"], json!(["a.b", "c.d"]));
    assert_eq!(got["url"], "http://127.0.0.1:10/");
    // but a new subscription to it is refused
    let (s, _) = app
        .call_as(
            &key,
            reqwest::Method::POST,
            &format!("/api/v1/app/{a}/endpoint"),
            Some(json!({"url": "http://127.0.0.1:11/", "filterTypes": ["a.b"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_page_link_with_a_nul_in_its_query_is_refused_in_words() {
    let app = spawn_app().await;
    let (cookie, _, a) = developer_with_app(&app, "Shop", &["a.b"]).await;
    // the message log reads its filters from the query while it renders on the server
    for qs in [
        "channel=%00",
        "tag=x%00",
        "q=%00",
        "event_type=%00",
        "search=a%00b",
        "",
    ] {
        let page = no_redirects()
            .get(format!("{}/apps/{a}/messages?{qs}", app.base))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        let status = page.status();
        let html = page.text().await.unwrap();
        if qs.is_empty() {
            assert_eq!(status, StatusCode::OK, "{html}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{qs}: {html}");
            assert!(html.contains("may not contain the NUL character"), "{qs}: {html}");
        }
    }
}
