//! Opening a consumer-portal link: the token in `/portal/{token}` becomes a session scoped to
//! its one application, and the browser goes on to that application's portal page (so the
//! token leaves the address bar at once).
use crate::api::AppState;
use crate::docs::{esc, page_html};
use app::error::PortalError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// "Log out and open the link": the person chose, on the page that refused the link, to end
/// their developer session for it. A POST from this site only (the CSRF guard).
pub async fn switch_to_link(state: State<AppState>, session: Session, token: Path<String>) -> Response {
    if let Err(e) = session.remove::<String>(app::api::ssr::USER_KEY).await {
        return error_page(app::api::ssr::session_error(e));
    }
    open_link(state, session, token).await
}

fn error_page(e: PortalError) -> Response {
    (
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Html(page_html("Error", &format!("<h1>{}</h1>", esc(&e.to_string())))),
    )
        .into_response()
}

pub async fn open_link(State(s): State<AppState>, session: Session, Path(token): Path<String>) -> Response {
    match app::api::ssr::start_portal_session(&session, &s.services, &token).await {
        Ok(app_id) => Redirect::to(&app::paths::Area::Consumer.app(&app_id)).into_response(),
        Err(e @ PortalError::LinkExpired) => (
            StatusCode::UNAUTHORIZED,
            Html(page_html(
                "Link expired",
                &format!(
                    "<h1>This portal link cannot be opened</h1><p>{}</p>",
                    esc(&e.to_string())
                ),
            )),
        )
            .into_response(),
        Err(e @ PortalError::Invalid(_)) => (
            StatusCode::CONFLICT,
            Html(page_html(
                "Logged in elsewhere",
                &format!(
                    "<h1>This portal link cannot be opened here</h1><p>{}</p>\
                     <form method=\"post\" action=\"/portal/{}\">\
                     <button type=\"submit\" class=\"button\">Log out and open the link</button></form>",
                    esc(&e.to_string()),
                    esc(&token)
                ),
            )),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}
