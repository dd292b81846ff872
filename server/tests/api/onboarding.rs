//! The portal's first-run path, overview and timeline states at the HTTP level: signing up
//! leads to the guide; each step's form makes one object however often it is sent; a test
//! event needs no catalogue entry and arrives in a test inbox; the overview counts what was
//! delivered and what needs attention; the timeline tells one truthful in-flight state.
use crate::helpers::*;
use crate::portal::{logged_in, no_redirects, portal_call, post_form};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A server function posted as a plain HTML form (before hydration): where it redirects.
async fn form_redirect(app: &TestApp, cookie: &str, f: &str, form: &[(&str, &str)]) -> String {
    let r = no_redirects()
        .post(format!("{}/_fn/{f}", app.base))
        .header(header::ORIGIN, app.base.clone())
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "text/html")
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{f}: {}", r.status());
    r.headers()[header::LOCATION].to_str().unwrap().to_string()
}

fn query_param(location: &str, key: &str) -> Option<String> {
    url::Url::parse(&format!("http://x{location}"))
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn signing_up_leads_through_four_steps_to_a_delivery_in_a_test_inbox() {
    // the SSRF guard refuses loopback, as in production: the inbox needs no exception
    let app = spawn_app_with(|s| s.delivery.guard = domain::ssrf::SsrfGuard::default()).await;
    // no organisation name: the email names it
    let r = post_form(
        &no_redirects(),
        &app,
        "/_fn/signup",
        &[
            ("email", "hedy@example.com"),
            ("password", "frequency hopping 1942"),
            ("organization", ""),
        ],
        true,
    )
    .await;
    assert_eq!(r.headers()[header::LOCATION], "/welcome");
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = reqwest::Client::new()
        .get(format!("{}/welcome", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Name your application") && page.contains("hedy@example.com"),
        "{page}"
    );

    // step 1, sent twice with one submission token (a double click): one application
    let step1 = [("name", "My first application"), ("submission", "tok-a-0")];
    let to = form_redirect(&app, &cookie, "welcome_create_app", &step1).await;
    let again = form_redirect(&app, &cookie, "welcome_create_app", &step1).await;
    assert_eq!(to, again);
    let app_id = query_param(&to, "app").unwrap();
    let (_, apps) = portal_call(&app, &cookie, "list_apps", &[]).await;
    assert_eq!(
        json_of(&apps).as_array().unwrap().len(),
        1,
        "one application: {apps}"
    );

    // step 2: a test inbox (one click)
    let to = form_redirect(
        &app,
        &cookie,
        "welcome_use_inbox",
        &[("app", &app_id), ("submission", "tok-b-0")],
    )
    .await;
    let ep = query_param(&to, "endpoint").unwrap();
    let inbox = query_param(&to, "inbox").unwrap();

    // step 3: an event type the catalogue does not have
    let to = form_redirect(
        &app,
        &cookie,
        "welcome_send",
        &[
            ("app", &app_id),
            ("endpoint", &ep),
            ("inbox", &inbox),
            ("event_type", "hookline.test"),
            ("payload", "{\"hello\": \"world\"}"),
            ("submission", "tok-c-0"),
        ],
    )
    .await;
    let msg = query_param(&to, "msg").unwrap();

    // step 4: it arrives, signed with the endpoint's secret
    let progress = eventually(20, "the first delivery", || async {
        let (s, body) = portal_call(
            &app,
            &cookie,
            "welcome_progress",
            &[
                ("app", app_id.as_str()),
                ("endpoint", &ep),
                ("inbox", &inbox),
                ("msg", &msg),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let p = json_of(&body);
        (p["sent"]["status"] == 0 && !p["sent"]["received"].is_null()).then_some(p)
    })
    .await;
    assert_eq!(progress["sent"]["received"]["signature"], "valid", "{progress}");
    assert_eq!(progress["sent"]["last"][0], 200);
    assert_eq!(progress["sent"]["event_type"], "hookline.test");
    // the page says so, in words
    let page = reqwest::Client::new()
        .get(format!("{}{to}", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Delivered: HTTP 200"), "{page}");
    assert!(page.contains("signature valid"), "{page}");
}

#[tokio::test]
async fn a_form_sent_twice_makes_one_object_and_a_new_token_makes_another() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Analytical").await;
    let create = |token: &'static str| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let (s, body) = portal_call(
                app,
                &cookie,
                "create_app",
                &[("name", "Twice"), ("uid", ""), ("submission", token)],
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            json_of(&body)["id"].as_str().unwrap().to_string()
        }
    };
    // at the same moment, as a double click sends them
    let (a, b) = tokio::join!(create("nonce-0"), create("nonce-0"));
    assert_eq!(a, b);
    let c = create("nonce-1").await;
    assert_ne!(a, c);
    let (_, apps) = portal_call(&app, &cookie, "list_apps", &[]).await;
    assert_eq!(json_of(&apps).as_array().unwrap().len(), 2);
    // a token that is not one of ours is refused in words
    let (s, body) = portal_call(
        &app,
        &cookie,
        "create_app",
        &[("name", "x"), ("uid", ""), ("submission", "bad token!")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Reload the page"), "{body}");
    // a refused form can be corrected and sent again with the same token
    let (s, _) = portal_call(
        &app,
        &cookie,
        "create_app",
        &[("name", ""), ("uid", ""), ("submission", "nonce-2")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = portal_call(
        &app,
        &cookie,
        "create_app",
        &[("name", "Fixed"), ("uid", ""), ("submission", "nonce-2")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_overview_counts_deliveries_and_points_at_what_needs_attention() {
    let app = spawn_app_with(|s| s.delivery.guard = domain::ssrf::SsrfGuard::default()).await;
    let cookie = logged_in(&app, "ada@example.com", "Analytical").await;
    let (s, body) = portal_call(&app, &cookie, "org_overview", &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["has_apps"], false);
    let (_, a) = portal_call(&app, &cookie, "create_app", &[("name", "Shop"), ("uid", "")]).await;
    let a = json_of(&a)["id"].as_str().unwrap().to_string();
    let mut inboxes = vec![];
    for _ in 0..2 {
        let (_, body) = portal_call(&app, &cookie, "create_test_inbox", &[("app", a.as_str())]).await;
        let (inbox, ep): (Value, Value) = serde_json::from_str(&body).unwrap();
        inboxes.push((
            inbox["id"].as_str().unwrap().to_string(),
            ep["id"].as_str().unwrap().to_string(),
        ));
    }
    // the second inbox fails everything
    portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[
            ("id", inboxes[1].0.as_str()),
            ("status", "500"),
            ("delay_ms", "0"),
        ],
    )
    .await;
    let (_, key) = portal_call(&app, &cookie, "create_api_key", &[("name", "k")]).await;
    let key: String = serde_json::from_str(&key).unwrap();
    for i in 0..3 {
        let (s, _) = app
            .call_as(
                &key,
                reqwest::Method::POST,
                &format!("/api/v1/app/{a}/msg"),
                Some(json!({"eventType": "x.y", "payload": {"i": i}})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    // the failing endpoint's deliveries exhaust the test schedule (20, 40, 80 ms)
    let o = eventually(30, "three delivered, three dead letters", || async {
        let (_, body) = portal_call(&app, &cookie, "org_overview", &[]).await;
        let o = json_of(&body);
        (o["succeeded"] == 3 && o["dead_letters"] == 3).then_some(o)
    })
    .await;
    assert_eq!(o["failed"], 3);
    assert_eq!(o["has_apps"], true);
    let attention = o["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 1, "{o}");
    assert_eq!(attention[0]["endpoint_id"], inboxes[1].1.as_str());
    assert!(
        attention[0]["problem"]
            .as_str()
            .unwrap()
            .contains("failures in a row"),
        "{o}"
    );
    assert_eq!(o["with_dead_letters"][0]["dead_letters"], 3);
    assert_eq!(o["slowest"].as_array().unwrap().len(), 2);
    // and the page shows it, with links to the endpoint
    let page = reqwest::Client::new()
        .get(format!("{}/overview", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("50.0%"),
        "half of the settled deliveries succeeded: {page}"
    );
    assert!(
        page.contains(&format!("/apps/{a}/endpoint/{}", inboxes[1].1)),
        "{page}"
    );
}

#[tokio::test]
async fn the_timeline_says_sending_now_while_an_attempt_is_in_flight() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Analytical").await;
    let (_, a) = portal_call(&app, &cookie, "create_app", &[("name", "Shop"), ("uid", "")]).await;
    let a = json_of(&a)["id"].as_str().unwrap().to_string();
    let (_, body) = portal_call(&app, &cookie, "create_test_inbox", &[("app", a.as_str())]).await;
    let (inbox, _): (Value, Value) = serde_json::from_str(&body).unwrap();
    // an inbox that takes three seconds to answer
    portal_call(
        &app,
        &cookie,
        "set_inbox_reply",
        &[
            ("id", inbox["id"].as_str().unwrap()),
            ("status", "200"),
            ("delay_ms", "3000"),
        ],
    )
    .await;
    let (s, body) = portal_call(
        &app,
        &cookie,
        "send_test_event",
        &[
            ("app", a.as_str()),
            ("event_type", "not.in.catalogue"),
            ("payload", "{}"),
            ("endpoint", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a test event needs no catalogue entry: {body}");
    let msg = json_of(&body)["id"].as_str().unwrap().to_string();
    let t = eventually(10, "in flight", || async {
        let (_, body) = portal_call(
            &app,
            &cookie,
            "message_timeline",
            &[("app", a.as_str()), ("msg", &msg)],
        )
        .await;
        let t = json_of(&body);
        (t["endpoints"][0]["status"] == 3).then_some(t)
    })
    .await;
    assert!(t["endpoints"][0]["sending_for_secs"].is_i64(), "{t}");
    let page = reqwest::Client::new()
        .get(format!("{}/apps/{a}/msg/{msg}", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sending the first try now, started"), "{page}");
    assert!(
        !page.contains("Next attempt") && !page.contains("Not attempted yet"),
        "one state: {page}"
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let page = eventually(10, "delivered", || async {
        let page = reqwest::Client::new()
            .get(format!("{}/apps/{a}/msg/{msg}", app.base))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        page.contains("succeeded").then_some(page)
    })
    .await;
    assert!(
        page.contains("first try"),
        "the first attempt is labelled as the first try: {page}"
    );
    assert!(!page.contains("scheduled"), "{page}");
}
