//! The portal at the HTTP level: cookie flags, CSRF, the login wall, throttling, tenancy.
use crate::helpers::*;
use reqwest::{header, StatusCode};

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn post_form(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    origin: bool,
) -> reqwest::Response {
    // as a browser posts a plain HTML form (what the portal does before hydration)
    let mut req = c
        .post(format!("{}{path}", app.base))
        .form(form)
        .header(header::ACCEPT, "text/html");
    if origin {
        req = req.header(header::ORIGIN, app.base.clone());
    }
    req.send().await.unwrap()
}

const SIGNUP: [(&str, &str); 3] = [
    ("email", "ada@example.com"),
    ("password", "analytical engine 1843"),
    ("organization", "Analytical"),
];

#[tokio::test]
async fn signup_sets_a_hardened_session_cookie_and_opens_the_first_run_guide() {
    let app = spawn_app().await;
    let c = no_redirects();
    let r = post_form(&c, &app, "/_fn/signup", &SIGNUP, true).await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()[header::LOCATION], "/welcome");
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("hookline_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    // the stored session key is a digest, not the cookie's id
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM tower_sessions.session")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&id) && !id.contains(&stored[0]));
    let page = c
        .get(format!("{}/welcome", app.base))
        .header(header::COOKIE, cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Name your application"));
}

#[tokio::test]
async fn a_write_without_a_same_origin_header_is_refused() {
    let app = spawn_app().await;
    let c = no_redirects();
    let r = post_form(&c, &app, "/_fn/signup", &SIGNUP, false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("cross-site request forgery"));
    let r = c
        .post(format!("{}/_fn/signup", app.base))
        .header(header::ORIGIN, "https://evil.example")
        .form(&SIGNUP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing was created");
}

#[tokio::test]
async fn strangers_are_sent_to_login_and_back() {
    let app = spawn_app().await;
    let r = no_redirects()
        .get(format!("{}/apps", app.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()[header::LOCATION], "/login?next=%2Fapps");
    let c = no_redirects();
    post_form(&c, &app, "/_fn/signup", &SIGNUP, true).await;
    let login = [
        ("email", "ada@example.com"),
        ("password", "analytical engine 1843"),
        ("next", "/apps"),
    ];
    let r = post_form(&c, &app, "/_fn/login", &login, true).await;
    assert_eq!(r.headers()[header::LOCATION], "/apps");
    // an off-site `next` is ignored
    let evil = [
        ("email", "ada@example.com"),
        ("password", "analytical engine 1843"),
        ("next", "//evil.example"),
    ];
    let r = post_form(&c, &app, "/_fn/login", &evil, true).await;
    assert_eq!(r.headers()[header::LOCATION], "/overview");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let app = spawn_app().await;
    let c = no_redirects();
    post_form(&c, &app, "/_fn/signup", &SIGNUP, true).await;
    let wrong = [
        ("email", "ada@example.com"),
        ("password", "not the password at all"),
    ];
    for _ in 0..5 {
        let body = post_form(&c, &app, "/_fn/login", &wrong, true)
            .await
            .text()
            .await
            .unwrap();
        assert!(body.contains("do not match"), "{body}");
    }
    let right = [
        ("email", "ada@example.com"),
        ("password", "analytical engine 1843"),
    ];
    let body = post_form(&c, &app, "/_fn/login", &right, true)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Too many failed logins"),
        "even the right password waits: {body}"
    );
}

#[tokio::test]
async fn signup_explains_what_is_wrong() {
    let app = spawn_app().await;
    let c = no_redirects();
    let bad = [
        ("email", "not-an-email"),
        ("password", "short"),
        ("organization", ""),
    ];
    let body = post_form(&c, &app, "/_fn/signup", &bad, true)
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("valid email"), "{body}");
    assert!(body.contains("at least 10 characters"), "{body}");
    // the organisation's name is optional, but not endless
    let long = "x".repeat(129);
    let body = post_form(
        &c,
        &app,
        "/_fn/signup",
        &[
            ("email", "ok@example.com"),
            ("password", "analytical engine 1843"),
            ("organization", &long),
        ],
        true,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(body.contains("at most 128 characters"), "{body}");
    post_form(&c, &app, "/_fn/signup", &SIGNUP, true).await;
    let again = [
        ("email", "ADA@example.com"),
        ("password", "another good passphrase"),
        ("organization", "Other"),
    ];
    let body = post_form(&c, &app, "/_fn/signup", &again, true)
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("already registered"), "{body}");
}

/// Signs up through the portal and returns the `Cookie` header value of the session.
pub(crate) async fn logged_in(app: &TestApp, email: &str, org: &str) -> String {
    let form = [
        ("email", email),
        ("password", "analytical engine 1843"),
        ("organization", org),
    ];
    let r = post_form(&no_redirects(), app, "/_fn/signup", &form, true).await;
    session_cookie(&r)
}

/// The `Cookie` header value of the session a response starts.
pub(crate) fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Creates an application through the portal as `cookie`'s user; its id.
pub(crate) async fn portal_app(app: &TestApp, cookie: &str, name: &str, uid: &str) -> String {
    let (s, body) = portal_call(app, cookie, "create_app", &[("name", name), ("uid", uid)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn portal_call(
    app: &TestApp,
    cookie: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/_fn/{endpoint}", app.base))
        .header(header::ORIGIN, app.base.clone())
        .header(header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_portal_api_key_works_against_the_api_until_revoked_and_only_its_org_can_revoke_it() {
    let app = spawn_app().await;
    let ada = logged_in(&app, "ada@example.com", "Analytical").await;
    let (s, body) = portal_call(&app, &ada, "create_api_key", &[("name", "backend")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let key: String = serde_json::from_str(&body).unwrap();
    let (s, _) = app.call_as(&key, reqwest::Method::GET, "/api/v1/app", None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = portal_call(&app, &ada, "list_api_keys", &[]).await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let listed = &list.as_array().unwrap()[0];
    assert!(key.starts_with(listed["prefix"].as_str().unwrap()));
    assert!(!list.to_string().contains(&key), "the key itself is never listed");
    let id = listed["id"].as_str().unwrap().to_string();

    let eve = logged_in(&app, "eve@example.com", "Other org").await;
    let (s, body) = portal_call(&app, &eve, "revoke_api_key", &[("id", &id)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("NotFound"), "{body}");
    assert_eq!(
        app.call_as(&key, reqwest::Method::GET, "/api/v1/app", None)
            .await
            .0,
        StatusCode::OK
    );

    let (s, _) = portal_call(&app, &ada, "revoke_api_key", &[("id", &id)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.call_as(&key, reqwest::Method::GET, "/api/v1/app", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn portal_functions_refuse_strangers() {
    let app = spawn_app().await;
    let (s, body) = portal_call(&app, "hookline_session=forged", "list_apps", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("LoggedOut"), "{body}");
}

#[tokio::test]
async fn another_organisations_application_is_not_found_in_the_portal() {
    let app = spawn_app().await;
    let ada = logged_in(&app, "ada@example.com", "Analytical").await;
    let (_, created) = portal_call(&app, &ada, "create_app", &[("name", "Private"), ("uid", "")]).await;
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = portal_call(&app, &ada, "app_overview", &[("app", &id)]).await;
    assert_eq!(s, StatusCode::OK);
    let eve = logged_in(&app, "eve@example.com", "Other org").await;
    let (s, body) = portal_call(&app, &eve, "app_overview", &[("app", &id)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("NotFound"), "{body}");
    let (_, body) = portal_call(&app, &eve, "delete_app", &[("id", &id)]).await;
    assert!(body.contains("NotFound"), "{body}");
    let (s, _) = portal_call(&app, &eve, "message_timeline", &[("app", &id), ("msg", "msg_x")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
