//! Accounts (issue 12, item 5): change the password, list your sessions and end the others,
//! and an operator's one-time reset link (`hookline user reset-password`).
use crate::helpers::*;
use crate::portal::{logged_in, no_redirects, portal_call, post_form};
use reqwest::{header, StatusCode};
use serde_json::Value;
use std::process::Command;

const PASSWORD: &str = "analytical engine 1843";

/// Logs `email` in again (a second browser) with `agent` as its User-Agent; the session cookie.
async fn log_in(app: &TestApp, email: &str, password: &str, agent: &str) -> Option<String> {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(agent)
        .build()
        .unwrap()
        .post(format!("{}/_fn/login", app.base))
        .header(header::ORIGIN, app.base.clone())
        .header(header::ACCEPT, "text/html")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    if !r.status().is_redirection() {
        return None;
    }
    let cookie = r.headers().get(header::SET_COOKIE)?.to_str().ok()?;
    Some(cookie.split(';').next()?.to_string())
}

async fn account(app: &TestApp, cookie: &str) -> (StatusCode, Value) {
    let (s, body) = portal_call(app, cookie, "account_page", &[]).await;
    (s, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

fn sessions(page: &Value) -> Vec<Value> {
    page["sessions"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_user_sees_where_they_are_logged_in_and_can_log_out_the_others() {
    let app = spawn_app().await;
    let first = logged_in(&app, "ada@example.com", "Analytical").await;
    let firefox = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0";
    let second = log_in(&app, "ada@example.com", PASSWORD, firefox).await.unwrap();
    let third = log_in(&app, "ada@example.com", PASSWORD, "curl/8.5")
        .await
        .unwrap();
    // someone else's sessions are never listed
    let eve = logged_in(&app, "eve@example.com", "Other").await;

    let (s, page) = account(&app, &second).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["email"], "ada@example.com");
    let listed = sessions(&page);
    assert_eq!(listed.len(), 3, "{page}");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{page}");
    assert_eq!(current[0]["browser"], "Firefox on Windows");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(listed.iter().any(|s| s["browser"] == "curl"), "{page}");
    assert!(!page.to_string().contains("eve@"), "{page}");
    // the cookie's id is never shown, nor the key it is stored under
    for c in [&first, &second, &third] {
        let id = c.split('=').nth(1).unwrap();
        assert!(!page.to_string().contains(id), "{page}");
    }

    let (s, ended) = portal_call(&app, &second, "end_other_sessions", &[]).await;
    assert_eq!((s, ended.as_str()), (StatusCode::OK, "2"));
    for gone in [&first, &third] {
        let (s, _) = account(&app, gone).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "an ended session logs nobody in");
    }
    let (s, page) = account(&app, &second).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sessions(&page).len(), 1, "{page}");
    // logging out takes the session off the list too
    let (s, _) = account(&app, &eve).await;
    assert_eq!(s, StatusCode::OK);
    portal_call(&app, &eve, "logout", &[]).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "only ada's own session is left");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_logs_out_the_other_sessions() {
    let app = spawn_app().await;
    let here = logged_in(&app, "ada@example.com", "Analytical").await;
    let there = log_in(&app, "ada@example.com", PASSWORD, "curl/8.5")
        .await
        .unwrap();
    let change = |current: &'static str, password: &'static str, confirm: &'static str| {
        let here = here.clone();
        let app = &app;
        async move {
            let form = [("current", current), ("password", password), ("confirm", confirm)];
            portal_call(app, &here, "change_password", &form).await
        }
    };
    let (s, body) = change("not my password", "a brand new secret", "a brand new secret").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not your current password"), "{body}");
    let (s, body) = change(PASSWORD, "short", "short").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("at least 10 characters"), "{body}");
    let (s, body) = change(PASSWORD, "a brand new secret", "a brand new secrte").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("differ"), "{body}");
    let (s, body) = change(PASSWORD, PASSWORD, PASSWORD).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("current password"), "{body}");
    // nothing changed so far: both sessions and the old password still work
    assert_eq!(account(&app, &there).await.0, StatusCode::OK);

    let (s, body) = change(PASSWORD, "a brand new secret", "a brand new secret").await;
    assert_eq!(
        (s, body.as_str()),
        (StatusCode::OK, "1"),
        "one other session ended"
    );
    assert_eq!(account(&app, &here).await.0, StatusCode::OK, "this one stays");
    assert_eq!(account(&app, &there).await.0, StatusCode::UNAUTHORIZED);
    assert!(log_in(&app, "ada@example.com", PASSWORD, "x").await.is_none());
    assert!(log_in(&app, "ada@example.com", "a brand new secret", "x")
        .await
        .is_some());
    // logged out, the page is not reachable
    assert_eq!(account(&app, "id=nothing").await.0, StatusCode::UNAUTHORIZED);
}

/// `hookline user reset-password --email …` against the test's database.
fn reset_link(app: &TestApp, email: &str) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("hookline-reset-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(["user", "reset-password", "--email", email])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db_url)
        .env("HOOKLINE_DATA_DIR", &dir)
        .env(
            "HOOKLINE_SECRET_KEY",
            domain::crypto::SecretBox::generate_key_base64(),
        )
        .env("HOOKLINE_PUBLIC_URL", &app.base)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    let form = [("token", token), ("password", password), ("confirm", password)];
    post_form(&no_redirects(), app, "/_fn/reset_password", &form, true).await
}

#[tokio::test]
async fn an_operators_reset_link_sets_a_new_password_once_and_logs_out_everywhere() {
    let app = spawn_app().await;
    let before = logged_in(&app, "ada@example.com", "Analytical").await;
    let err = reset_link(&app, "nobody@example.com").unwrap_err();
    assert!(err.contains("no user has the email"), "{err}");

    let first = reset_link(&app, "ADA@example.com").unwrap();
    let link = reset_link(&app, "ada@example.com").unwrap();
    let prefix = format!("{}/reset-password?token=", app.base);
    assert!(link.starts_with(&prefix), "{link}");
    let token = &link[prefix.len()..];
    let stale = &first[prefix.len()..];
    // the token is stored only as its digest
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM password_resets")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.contains(&domain::crypto::sha256(token)), "{stored:?}");
    assert!(stored.iter().all(|h| h.len() == 32), "SHA-256 digests only");

    // the page says whether the link works before asking for a password
    let works = |t: String| {
        let app = &app;
        async move {
            let (_, body) = portal_call(app, "", "reset_link_works", &[("token", &t)]).await;
            body
        }
    };
    assert_eq!(works(token.to_string()).await, "true");
    assert_eq!(
        works(stale.to_string()).await,
        "false",
        "a newer link replaces it"
    );
    assert_eq!(works("made-up".into()).await, "false");

    let weak = reset(&app, token, "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("at least 10"));
    let stale_try = reset(&app, stale, "a brand new secret").await;
    assert_eq!(stale_try.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale_try
        .text()
        .await
        .unwrap()
        .contains("expired or was already used"));

    let done = reset(&app, token, "a brand new secret").await;
    assert!(done.status().is_redirection(), "{}", done.status());
    assert_eq!(done.headers()[header::LOCATION], app::paths::OVERVIEW);
    let cookie = done.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        account(&app, &cookie).await.0,
        StatusCode::OK,
        "logged in by the reset"
    );
    assert_eq!(
        account(&app, &before).await.0,
        StatusCode::UNAUTHORIZED,
        "everywhere else out"
    );
    assert!(log_in(&app, "ada@example.com", PASSWORD, "x").await.is_none());
    assert!(log_in(&app, "ada@example.com", "a brand new secret", "x")
        .await
        .is_some());
    // once only
    let again = reset(&app, token, "yet another secret").await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(works(token.to_string()).await, "false");
}
