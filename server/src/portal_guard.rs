//! Guards for the browser-facing side.
//!
//! * CSRF: a state-changing request (anything but GET/HEAD/OPTIONS) outside the bearer-token
//!   REST API and the test inboxes must come from this site: its `Origin` must match the `Host`, or, without an
//!   `Origin`, `Sec-Fetch-Site` must say same-origin. Session cookies are also SameSite=Lax.
//! * Login wall: a stranger asking for a protected page is sent to the login page, with the
//!   page to come back to.
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// True when the request demonstrably comes from a page of this site.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return origin_host.is_some() && origin_host == host;
    }
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin") | Some("none")
    )
}

pub async fn csrf(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer_api = req.uri().path().starts_with("/api/v1/");
    // a test inbox takes requests from anywhere: its token is its only authority, and it
    // acts for no session
    let inbox = req.uri().path().starts_with(domain::service::inboxes::INBOX_PATH);
    if safe || bearer_api || inbox || same_origin(req.headers()) {
        return next.run(req).await;
    }
    (
        StatusCode::FORBIDDEN,
        "This request was refused because it did not come from a Hookline page (cross-site request \
         forgery protection). Reload the page and try again.",
    )
        .into_response()
}

/// Leptos answers 500 when a server function's arguments cannot be decoded, though that is
/// the caller's mistake (a hand-made or stale form). Such failures carry
/// `PortalError::Transport`, so they are answered 400 instead; real server errors stay 500.
pub async fn bad_arguments_are_400(req: Request, next: Next) -> Response {
    let server_fn = req.uri().path().starts_with("/_fn/");
    let res = next.run(req).await;
    if !server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if bytes.starts_with(br#"{"Transport""#) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

pub async fn login_wall(session: Session, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let protected = app::paths::PROTECTED
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if protected && req.method() == Method::GET {
        let logged_in = session
            .get::<String>(app::api::ssr::USER_KEY)
            .await
            .ok()
            .flatten()
            .is_some();
        if !logged_in {
            let back = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(path);
            let target: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", back)
                .finish();
            return Redirect::to(&format!("{}?{target}", app::paths::LOGIN)).into_response();
        }
    }
    next.run(req).await
}

/// A server function's error as the portal's client decodes it: the `PortalError` as JSON.
fn portal_error(status: StatusCode, e: app::error::PortalError) -> Response {
    let body = serde_json::to_string(&e).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Server functions take url-encoded forms, and no field of any of them may hold NUL: no text
/// PostgreSQL stores can (a test event's payload escapes it as `\u0000`, which is other
/// characters). Such a body is answered 422 in words before any function runs, instead of
/// failing in the database as a 500. A page's query string (the message log's filters, read
/// while the page renders on the server, never posted) is held to the same: 400 in words.
/// The API's own query reader answers NUL itself, in the API's error shape.
pub async fn no_nul_in_forms(
    axum::extract::State(state): axum::extract::State<crate::api::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let query = req.uri().query().unwrap_or("");
    if (query.contains("%00") || query.contains('\0')) && !req.uri().path().starts_with("/api/") {
        let e = app::error::PortalError::form("A link's query may not contain the NUL character (%00).");
        if req.uri().path().starts_with("/_fn/") {
            return portal_error(StatusCode::UNPROCESSABLE_ENTITY, e);
        }
        let body = crate::docs::page_html(
            "Bad link",
            "<h1>Bad link</h1><p>A link's query may not contain the NUL character (%00). Remove it and try again.</p>",
        );
        return (StatusCode::BAD_REQUEST, axum::response::Html(body)).into_response();
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !form || !req.uri().path().starts_with("/_fn/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.settings.max_payload_bytes).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The form is larger than {} bytes.",
                state.settings.max_payload_bytes
            ),
        )
            .into_response();
    };
    if bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00") {
        let e = app::error::PortalError::form("Text may not contain the NUL character (%00).");
        return portal_error(StatusCode::UNPROCESSABLE_ENTITY, e);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Roles: a logged-in person's call of a server function needs the role `app::roles`
/// names for it, checked here before the function runs (a stale page, a hand-made request,
/// a form the page did not show: all the same). A function the table does not name needs an
/// admin, so an unclassified one fails closed. Consumer-portal sessions and strangers pass on
/// to the function, which has its own rules for them.
pub async fn roles(
    axum::extract::State(state): axum::extract::State<crate::api::AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let Some(name) = req.uri().path().strip_prefix("/_fn/") else {
        return next.run(req).await;
    };
    let needed = app::roles::needed(name).unwrap_or(domain::types::Role::Admin);
    if needed == domain::types::Role::Viewer {
        return next.run(req).await;
    }
    // fails closed: when the session or the account cannot be read, nothing runs
    let unavailable = || {
        portal_error(
            StatusCode::SERVICE_UNAVAILABLE,
            app::error::PortalError::Unavailable,
        )
    };
    let (Ok(user), Ok(org)) = (
        session.get::<String>(app::api::ssr::USER_KEY).await,
        session.get::<String>(app::api::ssr::ORG_KEY).await,
    ) else {
        return unavailable();
    };
    let Some(user) = user else {
        return next.run(req).await;
    };
    match state.services.account(&user, org.as_deref()).await {
        Ok(Some(a)) if a.role < needed => portal_error(
            StatusCode::FORBIDDEN,
            app::error::PortalError::Forbidden(app::roles::refusal(a.role, needed)),
        ),
        // allowed; or gone, which the function answers as logged out
        Ok(_) => next.run(req).await,
        Err(e) => {
            tracing::warn!(error = %e, "role check: the account could not be read");
            unavailable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_same_origin_writes_pass() {
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "null")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "h"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!same_origin(&headers(&[("host", "h")])));
    }
}
